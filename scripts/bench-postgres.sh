#!/usr/bin/env bash
# PostgreSQL bulk-write figures (benches/pg_copy.rs): starts a private PostgreSQL on a free
# loopback port, runs the bench in release, stops the server. ROWS and BATCH size the run.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/postgres.sh
start_postgres
trap stop_postgres EXIT
MS5_BENCH_POSTGRES_URL="$PG_URL" cargo bench --bench pg_copy
