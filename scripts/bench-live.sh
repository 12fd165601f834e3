#!/usr/bin/env bash
# The live path measured on this machine, side by side with nginx: MS5 (release build) with a
# simulated 200-machine plant (20 lines × 10 machines) on loopback, then
#   (a) tag → WebSocket frame latency (a product change posted to /api/v1/ingest, timed
#       until machine:l1-filler shows it), idle and beside N clients on production_updates;
#   (b) frame sizes and bytes per client per second on production_updates;
#   (c) MS5's RSS (now and peak) at each N;
#   (d) deliveries per server CPU-second, against nginx + nchan fanning frames of the same
#       size at the same rate to the same N;
#   (e) GET /api/v1/production/lines under `wrk -t1 -c32`, against nginx serving the same
#       body as a static file.
# Installs what it needs (Debian: nginx-light, libnginx-mod-nchan, wrk, jq, curl), starts
# everything on 127.0.0.1 in a scratch folder, stops what it started, and prints Markdown
# tables. Settings (environment): CLIENTS ("100 1000 5000"), RUN_SECONDS (20), PROBE_MS (250),
# WRK_SECONDS (10), PROTOCOL (1), WINDOWS (protocol 2: the OEE windows the clients ask for,
# comma-separated, e.g. shift as the board does; empty: all), PLANT (200, or shipped: the
# plant of config/plant.toml), THREADS (1, client threads), PORT (18080), NGINX_PORT
# (18090), STATIC_PORT (18091), BUDGET_SECONDS (540: the load runs stop starting after it, so
# the runs take at most 10 minutes), KEEP=1 keeps the scratch folder (logs, JSON summaries).
set -euo pipefail
cd "$(dirname "$0")/.."

CLIENTS=${CLIENTS:-"100 1000 5000"}
RUN_SECONDS=${RUN_SECONDS:-20}
PROBE_MS=${PROBE_MS:-250}
WRK_SECONDS=${WRK_SECONDS:-10}
BUDGET_SECONDS=${BUDGET_SECONDS:-540}
PROTOCOL=${PROTOCOL:-1}
WINDOWS=${WINDOWS:-}
PLANT=${PLANT:-200}
if [ "$PLANT" = shipped ]; then PLANT_NAME="the shipped plant (8 machines)"; else PLANT_NAME="200 machines"; fi
THREADS=${THREADS:-1}
PORT=${PORT:-18080}
NGINX_PORT=${NGINX_PORT:-18090}
STATIC_PORT=${STATIC_PORT:-18091}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/ms5/target}

say() { echo "bench-live: $*" >&2; }

# ── What it needs ─────────────────────────────────────────────────────────────
missing=()
command -v nginx >/dev/null || missing+=(nginx-light)
[ -e /usr/lib/nginx/modules/ngx_nchan_module.so ] || missing+=(libnginx-mod-nchan)
command -v wrk >/dev/null || missing+=(wrk)
command -v jq >/dev/null || missing+=(jq)
command -v curl >/dev/null || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  say "installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

say "building (release)"
. scripts/lib/bench_tools.sh
build_bench_tools

# ── Scratch folder, and stopping what we start ────────────────────────────────
WORK=$(mktemp -d /tmp/ms5-bench-live.XXXXXX)
chmod 755 "$WORK"
MS5_PID=""
NGINX_PID=""
stop_all() {
  if [ -n "$MS5_PID" ]; then kill "$MS5_PID" 2>/dev/null || true; wait "$MS5_PID" 2>/dev/null || true; fi
  if [ -n "$NGINX_PID" ]; then
    kill "$NGINX_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$NGINX_PID" 2>/dev/null || break; sleep 0.1; done
  fi
  if [ "${KEEP:-0}" = 1 ]; then say "kept $WORK"; else rm -rf "$WORK"; fi
}
trap stop_all EXIT

if [ "$PLANT" = shipped ]; then
  cp config/plant.toml "$WORK/plant.toml"
else
  . scripts/lib/plant200.sh
  write_plant200 "$WORK/plant.toml"
fi
cp config/default.toml "$WORK/ms5.toml"
export MS5_CONFIG="$WORK/ms5.toml"
export MS5__HTTP__PORT=$PORT
export MS5__STORE__URL="sqlite://$WORK/ms5.db"
export MS5__LOG__LEVEL=warn
"$MS5" check-config >/dev/null

# ── MS5, an admin and a token ─────────────────────────────────────────────────
say "starting ms5 on 127.0.0.1:$PORT ($PLANT_NAME, simulator)"
"$MS5" serve > "$WORK/ms5.log" 2>&1 &
MS5_PID=$!
for _ in $(seq 120); do
  curl -fsS "http://127.0.0.1:$PORT/ready" >/dev/null 2>&1 && break
  kill -0 "$MS5_PID" 2>/dev/null || { cat "$WORK/ms5.log" >&2; exit 1; }
  sleep 0.5
done
curl -fsS "http://127.0.0.1:$PORT/ready" >/dev/null
PASSWORD=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
"$MS5" user add --username bench --role admin <<< "$PASSWORD" >/dev/null
TOKEN=$(curl -fsS -X POST "http://127.0.0.1:$PORT/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d "{\"username\":\"bench\",\"password\":\"$PASSWORD\"}" | jq -r .access_token)
export MS5_TOKEN=$TOKEN

# ── nginx: nchan (publisher + WebSocket subscribers) and the static body ──────
mkdir -p "$WORK/nginx/logs" "$WORK/static/api/v1/production"
chmod -R 755 "$WORK/static"
cat > "$WORK/nginx/nginx.conf" <<EOF
load_module /usr/lib/nginx/modules/ngx_nchan_module.so;
worker_processes auto;
worker_rlimit_nofile 65536;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;
events { worker_connections 16384; }
http {
  access_log off;
  client_body_buffer_size 16m;
  client_max_body_size 16m;
  nchan_max_channel_subscribers 0;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location = /sub {
      nchan_subscriber websocket;
      nchan_channel_id production_updates;
      nchan_subscriber_first_message newest;
    }
    location = /pub {
      nchan_publisher;
      nchan_channel_id production_updates;
      nchan_message_buffer_length 1;
      nchan_message_timeout 10s;
    }
  }
  server {
    listen 127.0.0.1:$STATIC_PORT;
    root $WORK/static;
    location = /api/v1/production/lines { default_type application/json; }
  }
}
EOF
nginx -t -q -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/logs/error.log"
nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/logs/error.log"
for _ in $(seq 50); do [ -s "$WORK/nginx/nginx.pid" ] && break; sleep 0.1; done
NGINX_PID=$(cat "$WORK/nginx/nginx.pid")
sleep 0.5
NGINX_PIDS="$NGINX_PID,$(cat /proc/"$NGINX_PID"/task/*/children | xargs | tr ' ' ',')"
NGINX_PIDS=${NGINX_PIDS%,}

# ── Runs ──────────────────────────────────────────────────────────────────────
RUNS_START=$SECONDS
load() { # name, then ws_load arguments; skipped once the time budget is spent
  local name=$1 left
  shift
  left=$((BUDGET_SECONDS - (SECONDS - RUNS_START)))
  if [ "$left" -lt $((RUN_SECONDS + 30)) ]; then say "$name skipped: the ${BUDGET_SECONDS} s budget is spent"; return; fi
  [ "$left" -lt $((RUN_SECONDS + 120)) ] || left=$((RUN_SECONDS + 120))
  say "run $name"
  timeout "$left" "$LOAD" --seconds "$RUN_SECONDS" --threads "$THREADS" \
    --json "$WORK/$name.json" "$@" > "$WORK/$name.txt" 2>&1 || say "$name: $(tail -3 "$WORK/$name.txt")"
  cat "$WORK/$name.txt" >&2
}
MS5_WS="ws://127.0.0.1:$PORT/ws"
load ms5-idle --url "$MS5_WS" --protocol "$PROTOCOL" --clients 0 --probe-every-ms "$PROBE_MS" --server-pid "$MS5_PID"
for n in $CLIENTS; do
  load "ms5-$n" --url "$MS5_WS" --protocol "$PROTOCOL" ${WINDOWS:+--windows "$WINDOWS"} --clients "$n" --probe-every-ms "$PROBE_MS" --server-pid "$MS5_PID"
done
for n in $CLIENTS; do
  f="$WORK/ms5-$n.json"
  [ -s "$f" ] || continue
  rate=$(jq -r 'if .connected > 0 then .frames_per_s / .connected else 0 end' "$f")
  # the mean of the state frames (protocol 2: patches and whole-state updates together)
  size=$(jq -r '((.by_type.update.bytes // 0) + (.by_type.patch.bytes // 0))
    / (((.by_type.update.frames // 0) + (.by_type.patch.frames // 0)) | if . == 0 then 1 else . end) | floor' "$f")
  if [ "$(jq -n "$rate > 0 and $size > 0")" != true ]; then say "ms5-$n delivered no updates: no nchan run"; continue; fi
  load "nchan-$n" --target nchan --url "ws://127.0.0.1:$NGINX_PORT/sub" --publish-url "http://127.0.0.1:$NGINX_PORT/pub" \
    --clients "$n" --publish-rate "$rate" --frame-bytes "$size" --server-pid "$NGINX_PIDS"
done

curl -fsS "http://127.0.0.1:$PORT/api/v1/production/lines" -H "Authorization: Bearer $TOKEN" \
  > "$WORK/static/api/v1/production/lines"
chmod 644 "$WORK/static/api/v1/production/lines"
BODY_BYTES=$(stat -c %s "$WORK/static/api/v1/production/lines")
wrk_run() { # name, url
  say "wrk $1"
  wrk -t1 -c32 -d"${WRK_SECONDS}s" --latency -H "Authorization: Bearer $TOKEN" "$2" > "$WORK/$1.wrk" 2>&1 || true
  cat "$WORK/$1.wrk" >&2
}
wrk_run wrk-ms5 "http://127.0.0.1:$PORT/api/v1/production/lines"
wrk_run wrk-nginx "http://127.0.0.1:$STATIC_PORT/api/v1/production/lines"

# ── Tables ────────────────────────────────────────────────────────────────────
row() { # scenario, server, json file
  [ -s "$3" ] || { echo "| $1 | $2 | not run, or failed (KEEP=1 keeps its log) | | | | | | | |"; return; }
  jq -r --arg s "$1" --arg srv "$2" '
    def f(d): if . == null then "-" else (. * pow(10; d) | round / pow(10; d) | tostring) end;
    def frames(t): (t.update.frames // 0) + (t.patch.frames // 0);
    def mean(t): if frames(t) > 0 then (((t.update.bytes // 0) + (t.patch.bytes // 0)) / frames(t) | f(0)) else "-" end;
    def most(t): [t.update.max, t.patch.max] | map(select(. != null)) | if length == 0 then "-" else max end;
    "| \($s) | \($srv) | \(.connected)/\(.clients) | \(.frames_per_s | f(0)) | \(.bytes_per_client_s | f(0)) | "
    + "\(mean(.by_type)) / \(most(.by_type)) | "
    + (if .latency == null then "-" else "\(.latency.p50_ms | f(1)) / \(.latency.p99_ms | f(1)) / \(.latency.max_ms | f(1)) (\(.latency.matched)/\(.latency.probes))" end) + " | "
    + (if .server == null then "- | - | -" else "\(.server.cpu_s | f(2)) | \(.server.deliveries_per_cpu_s | f(0)) | \(.server.rss_mib | f(1)) / \(.server.peak_rss_mib | f(1))" end)
    + " |"' "$3"
}
wrk_row() { # scenario, server, wrk output
  awk -v s="$1" -v srv="$2" -v body="$BODY_BYTES" '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /Requests\/sec:/ { rps = $2 }
    $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) }
    /Non-2xx/ { bad = $NF }
    END { printf "| %s | %s | %d | %.0f | %.2f / %.2f | %s |\n", s, srv, body, rps, p50, p99, (bad == "" ? 0 : bad) }' "$3"
}

echo
echo "### Live path: $(date -u +%Y-%m-%d), $(nproc) cores, protocol $PROTOCOL${WINDOWS:+ (windows $WINDOWS)}, ${RUN_SECONDS} s per run, $PLANT_NAME"
echo
echo "| scenario | server | clients connected | frames/s (all clients) | bytes per client/s | state frame mean / max (B) | latency p50 / p99 / max (ms) (matched/probes) | server CPU-s | deliveries per CPU-s | RSS / peak (MiB) |"
echo "|---|---|---|---|---|---|---|---|---|---|"
row "idle, probe only" ms5 "$WORK/ms5-idle.json"
for n in $CLIENTS; do row "$n × production_updates" ms5 "$WORK/ms5-$n.json"; done
for n in $CLIENTS; do
  if [ -s "$WORK/nchan-$n.json" ]; then row "$n × same size and rate" "nginx + nchan" "$WORK/nchan-$n.json"; fi
done
echo
echo "| scenario | server | body (B) | requests/s | latency p50 / p99 (ms) | non-2xx |"
echo "|---|---|---|---|---|---|"
wrk_row "GET /api/v1/production/lines, wrk -t1 -c32 ${WRK_SECONDS}s" ms5 "$WORK/wrk-ms5.wrk"
wrk_row "the same body as a static file" nginx "$WORK/wrk-nginx.wrk"
