# Starts and stops a private PostgreSQL server on a free loopback port (sourced by
# scripts/test.sh and scripts/bench-postgres.sh). Needs Debian's postgresql package.
# After start_postgres: PG_URL (superuser `postgres`, trust on loopback), PG_PORT, PG_DIR.

PG_BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"

# initdb refuses root: as root, the server runs as the package's `postgres` user.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
  PG_DIR="$(mktemp -d /tmp/ms5-pg.XXXXXX)"
  PG_PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  [ "$(id -u)" -ne 0 ] || chown postgres "$PG_DIR"
  as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 >/dev/null
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -s \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR -c fsync=off -c max_connections=400" start
  PG_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
  echo "postgresql: $("$PG_BIN/postgres" --version) on 127.0.0.1:$PG_PORT"
}

stop_postgres() {
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -s stop || true
  rm -rf "$PG_DIR"
}
