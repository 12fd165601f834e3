# Builds the release `ms5` and the WebSocket load tool (benches/ws_load) for the live-path
# benchmarks (sourced by scripts/bench-live.sh and scripts/bench-replicas.sh). Sets MS5 and LOAD.

build_bench_tools() {
  cargo build --release --quiet
  LOAD=$(cargo bench --bench ws_load --no-run --message-format=json 2>/dev/null \
    | jq -r 'select(.reason == "compiler-artifact" and .target.name == "ws_load" and .executable != null) | .executable' \
    | tail -1)
  MS5="$CARGO_TARGET_DIR/release/ms5"
  [ -x "$LOAD" ] && [ -x "$MS5" ] || { echo "build found no ws_load or ms5 binary" >&2; exit 1; }
}
