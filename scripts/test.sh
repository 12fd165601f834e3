#!/usr/bin/env bash
# Runs every MS5 test on a bare machine: installs what the tests need if it is missing
# (Debian chromium, mosquitto, Node.js, Python venv support, curl and jq via apt-get, playwright-core
# via npm, schemathesis via pip into a virtualenv), then checks formatting and lints, then
# runs `cargo test`.
#
# The build cache lives outside the clone: $CARGO_TARGET_DIR, default ~/.cache/ms5/target.
set -euo pipefail

cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ms5/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step() { printf '\n== %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

step "test prerequisites"
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)  # the MQTT broker of tests/mqtt.rs
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v jq >/dev/null 2>&1 || missing+=(jq)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# playwright-core needs Node.js 20 or later; Debian 12's is 18. Take one from the npm
# registry (the `node` package) when the system's is older.
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)'; then
  NODE_DIR="$HOME/.cache/ms5/node"
  if [ ! -x "$NODE_DIR/node_modules/.bin/node" ]; then
    mkdir -p "$NODE_DIR"
    npm install --prefix "$NODE_DIR" --no-package-lock --no-audit --no-fund --loglevel=error node@20
  fi
  export PATH="$NODE_DIR/node_modules/.bin:$PATH"
fi
if [ ! -d tests/browser/node_modules/playwright-core ]; then
  (cd tests/browser && npm install --no-package-lock --no-audit --no-fund --loglevel=error)
fi
# schemathesis fuzzes the OpenAPI document (tests/fuzz.rs); it lives in a virtualenv
# next to the build cache.
VENV="${MS5_VENV:-$HOME/.cache/ms5/venv}"
if [ ! -x "$VENV/bin/schemathesis" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check 'schemathesis>=4.32,<5'
fi
export MS5_SCHEMATHESIS="$VENV/bin/schemathesis"
for component in rustfmt clippy; do
  if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
    rustup component add "$component"
  fi
done
echo "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo missing)"
echo "mosquitto: $(dpkg-query -W -f='${Version}' mosquitto 2>/dev/null || echo missing)"
echo "node: $(node --version)"
echo "schemathesis: $("$MS5_SCHEMATHESIS" --version 2>/dev/null || echo missing)"

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --all-targets --quiet -- -D warnings

step "cargo test"
MS5_REQUIRE_BROWSER=1 MS5_REQUIRE_FUZZ=1 MS5_REQUIRE_MQTT=1 cargo test --quiet 2>&1
