#!/usr/bin/env bash
# WebSocket fan-out across replicas, measured on this machine: the 200-machine simulated
# plant (scripts/lib/plant200.sh) on one `ms5 serve` replica, then on two sharing one
# PostgreSQL and one Redis (release builds, loopback). In each case CLIENTS WebSocket
# clients on production_updates (split evenly over the replicas) for RUN_SECONDS, with a
# tag → frame probe: with two replicas the probe's product change goes to the replica that
# runs line-1 and is timed on a socket of the other, so it crosses Redis.
# Needs Debian's postgresql and redis-server (scripts/test.sh installs both), jq and curl.
# Settings (environment): CLIENTS (1000), RUN_SECONDS (20), PROTOCOL (2), WINDOWS (shift),
# PROBE_MS (250), KEEP=1 keeps the scratch folder. Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."

CLIENTS=${CLIENTS:-1000}
RUN_SECONDS=${RUN_SECONDS:-20}
PROTOCOL=${PROTOCOL:-2}
WINDOWS=${WINDOWS:-shift}
PROBE_MS=${PROBE_MS:-250}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/ms5/target}
say() { echo "bench-replicas: $*" >&2; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

say "building (release)"
. scripts/lib/bench_tools.sh
build_bench_tools
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

WORK=$(mktemp -d /tmp/ms5-bench-replicas.XXXXXX)
chmod 755 "$WORK"
PIDS=()
REDIS_PID=""
. scripts/lib/postgres.sh
stop_all() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  [ -z "$REDIS_PID" ] || { kill "$REDIS_PID" 2>/dev/null || true; wait "$REDIS_PID" 2>/dev/null || true; }
  [ -z "${PG_DIR:-}" ] || stop_postgres
  if [ "${KEEP:-0}" = 1 ]; then say "kept $WORK"; else rm -rf "$WORK"; fi
}
trap stop_all EXIT

start_postgres >&2
REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no > "$WORK/redis.log" 2>&1 &
REDIS_PID=$!
. scripts/lib/plant200.sh
write_plant200 "$WORK/plant.toml"
cp config/default.toml "$WORK/ms5.toml"
export MS5_CONFIG="$WORK/ms5.toml" MS5__STORE__URL="$PG_URL" MS5__LOG__LEVEL=warn
export MS5__CLUSTER__ENABLED=true MS5__REDIS__URL="redis://127.0.0.1:$REDIS_PORT"
# Replicas verify each other's tokens: one signing secret for both.
MS5__AUTH__JWT_SECRET=$(head -c 48 /dev/urandom | base64)
export MS5__AUTH__JWT_SECRET

serve() { # name, port: starts a replica, waits until it is ready, echoes its pid
  MS5__CLUSTER__REPLICA=$1 MS5__HTTP__PORT=$2 "$MS5" serve > "$WORK/$1.log" 2>&1 &
  local pid=$!
  for _ in $(seq 120); do
    curl -fsS "http://127.0.0.1:$2/ready" >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { cat "$WORK/$1.log" >&2; exit 1; }
    sleep 0.5
  done
  echo "$pid"
}
owned() { curl -fsS "http://127.0.0.1:$1/metrics" | awk '$1 == "ms5_cluster_lines_owned" { print $2 }'; }

PORT_A=$(free_port)
PORT_B=$(free_port)
PID_A=$(serve ms5-a "$PORT_A")
PIDS+=("$PID_A")
PASSWORD=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
"$MS5" user add --username bench --role admin <<< "$PASSWORD" >/dev/null
TOKEN=$(curl -fsS -X POST "http://127.0.0.1:$PORT_A/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d "{\"username\":\"bench\",\"password\":\"$PASSWORD\"}" | jq -r .access_token)
export MS5_TOKEN=$TOKEN
for _ in $(seq 60); do [ "$(owned "$PORT_A")" = 20 ] && break; sleep 0.5; done

load() { # name, then ws_load arguments
  local name=$1
  shift
  say "run $name"
  timeout $((RUN_SECONDS + 120)) "$LOAD" --seconds "$RUN_SECONDS" --protocol "$PROTOCOL" \
    ${WINDOWS:+--windows "$WINDOWS"} --json "$WORK/$name.json" "$@" > "$WORK/$name.txt" 2>&1 \
    || say "$name: $(tail -3 "$WORK/$name.txt")"
}

# One replica: every client and the probe on it.
load one --url "ws://127.0.0.1:$PORT_A/ws" --clients "$CLIENTS" --probe-every-ms "$PROBE_MS" --server-pid "$PID_A"

# Two replicas: ten lines each, half the clients on each.
PID_B=$(serve ms5-b "$PORT_B")
PIDS+=("$PID_B")
for _ in $(seq 120); do [ "$(owned "$PORT_A")" = 10 ] && [ "$(owned "$PORT_B")" = 10 ] && break; sleep 0.5; done
say "lines owned: a $(owned "$PORT_A"), b $(owned "$PORT_B")"
# The replica that runs line-1 applies its samples; the probe is timed on the other.
probe_to_a=$(curl -fsS -X POST "http://127.0.0.1:$PORT_A/api/v1/ingest" -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' -d "[{\"tag\":\"L1.Filler.Product\",\"value\":1,\"ts\":$(date +%s%3N)}]" | jq -r .applied)
if [ "$probe_to_a" = 1 ]; then OWNER=$PORT_A OTHER=$PORT_B OTHER_PID=$PID_B OWNER_PID=$PID_A
else OWNER=$PORT_B OTHER=$PORT_A OTHER_PID=$PID_A OWNER_PID=$PID_B; fi
HALF=$((CLIENTS / 2))
load two-other --url "ws://127.0.0.1:$OTHER/ws" --clients "$HALF" --probe-every-ms "$PROBE_MS" \
  --ingest-url "http://127.0.0.1:$OWNER/api/v1/ingest" --server-pid "$OTHER_PID" &
OTHER_LOAD=$!
load two-owner --url "ws://127.0.0.1:$OWNER/ws" --clients "$((CLIENTS - HALF))" --server-pid "$OWNER_PID"
wait "$OTHER_LOAD"

row() { # scenario, json file
  [ -s "$2" ] || { echo "| $1 | not run, or failed (KEEP=1 keeps its log) | | | | |"; return; }
  jq -r --arg s "$1" '
    def f(d): if . == null then "-" else (. * pow(10; d) | round / pow(10; d) | tostring) end;
    "| \($s) | \(.connected)/\(.clients) | \(.frames_per_s | f(0)) | "
    + (if .latency == null then "-" else "\(.latency.p50_ms | f(1)) / \(.latency.p99_ms | f(1)) (\(.latency.matched)/\(.latency.probes))" end) + " | "
    + (if .server == null then "- | -" else "\(.server.cpu_s | f(2)) | \(.server.rss_mib | f(1))" end) + " |"' "$2"
}
echo
echo "### Fan-out across replicas: $(date -u +%Y-%m-%d), $(nproc) cores, protocol $PROTOCOL${WINDOWS:+ (windows $WINDOWS)}, ${RUN_SECONDS} s per run, 200 machines"
echo
echo "| scenario | clients connected | frames/s | probe latency p50 / p99 (ms) (matched/probes) | replica CPU-s | replica RSS (MiB) |"
echo "|---|---|---|---|---|---|"
row "one replica, $CLIENTS clients" "$WORK/one.json"
row "two replicas: clients on the replica that does not run line-1 (probe crosses Redis)" "$WORK/two-other.json"
row "two replicas: clients on the replica that runs line-1" "$WORK/two-owner.json"
