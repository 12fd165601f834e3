#!/usr/bin/env bash
# Failover time of replicas (docs/cluster.md): starts a private PostgreSQL on a free loopback
# port and two `ms5 serve` replicas (release build, the shipped simulated plant, the default
# 15 s lease unless LEASE_TTL says otherwise), waits until they share the lines, then stops
# one (SIGKILL, then in a second run SIGTERM) and times until the other runs every line.
# RUNS (3) rounds of each. REDIS=1 also starts a private redis-server and gives the replicas
# `redis.url` (a stopping replica then tells the other at once). Prints a Markdown table;
# stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
LEASE_TTL=${LEASE_TTL:-15s}
RUNS=${RUNS:-3}
REDIS=${REDIS:-0}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/ms5/target}

say() { echo "bench-failover: $*" >&2; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

say "building (release)"
cargo build --release --quiet
MS5="$CARGO_TARGET_DIR/release/ms5"

. scripts/lib/postgres.sh
start_postgres >&2
WORK=$(mktemp -d /tmp/ms5-bench-failover.XXXXXX)
PIDS=()
REDIS_URL=""
if [ "$REDIS" = 1 ]; then
  REDIS_PORT=$(free_port)
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no > "$WORK/redis.log" 2>&1 &
  PIDS+=("$!")
  REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
fi
stop_all() {
  for pid in "${PIDS[@]}"; do kill -CONT "$pid" 2>/dev/null || true; kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  stop_postgres
  rm -rf "$WORK"
}
trap stop_all EXIT
"$PG_BIN/psql" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -c 'CREATE DATABASE ms5_failover' >/dev/null
DB="postgres://postgres@127.0.0.1:$PG_PORT/ms5_failover"
LINES=$(grep -c '^\[\[lines\]\]' config/plant.toml)

declare -A PORT PID
start() { # name
  local port
  port=$(free_port)
  PORT[$1]=$port
  MS5_CONFIG=config/default.toml MS5__HTTP__PORT=$port MS5__STORE__URL=$DB MS5__LOG__LEVEL=warn \
    MS5__CLUSTER__ENABLED=true MS5__CLUSTER__REPLICA="$1" MS5__CLUSTER__LEASE_TTL=$LEASE_TTL \
    env ${REDIS_URL:+MS5__REDIS__URL=$REDIS_URL} "$MS5" serve >> "$WORK/$1.log" 2>&1 &
  PID[$1]=$!
  PIDS+=("$!")
}
owned() { # name → lines it runs (0 when it does not answer)
  curl -fsS --max-time 1 "http://127.0.0.1:${PORT[$1]}/metrics" 2>/dev/null \
    | awk '$1 == "ms5_cluster_lines_owned" { print $2; found = 1 } END { if (!found) print 0 }'
}
wait_until() { # seconds, description, condition (shell expression)
  local deadline=$((SECONDS + $1))
  until eval "$3"; do
    [ $SECONDS -lt $deadline ] || { say "$2: not within $1 s"; tail -5 "$WORK"/*.log >&2; exit 1; }
    sleep 0.05
  done
}
now_ms() { date +%s%3N; }

start a
start b
wait_until 60 "the lines shared out" '[ "$(owned a)" -ge 1 ] && [ "$(owned b)" -ge 1 ]'
echo "| stop | lease | Redis | run | lines moved | taken over after (s) |"
echo "|---|---|---|---|---|---|"
victim=a; other=b
for signal in KILL TERM; do
  for run in $(seq "$RUNS"); do
    moved=$(owned $victim)
    t0=$(now_ms)
    kill -"$signal" "${PID[$victim]}"
    wait_until 120 "$other runs every line" "[ \"\$(owned $other)\" = \"$LINES\" ]"
    t1=$(now_ms)
    echo "| SIG$signal | $LEASE_TTL | $([ "$REDIS" = 1 ] && echo yes || echo no) | $run | $moved | $(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.2f", d / 1000 }') |"
    wait "${PID[$victim]}" 2>/dev/null || true
    start $victim
    wait_until 60 "the lines shared out again" "[ \"\$(owned $victim)\" -ge 1 ] && [ \"\$(owned $other)\" -ge 1 ]"
    tmp=$victim; victim=$other; other=$tmp
  done
done
