#!/usr/bin/env bash
# Makes the secret files deploy/compose.yaml reads, in the folder given (default: the
# secrets/ folder next to this script): random passwords and tokens, a placeholder AlertManager
# webhook and a self-signed certificate for trying it out. Files that exist are kept, so it can
# be run again; replace tls/ with your real certificate and alertmanager_webhook_url with your
# receiver.
set -euo pipefail
dir="${1:-$(dirname "$0")/secrets}"
umask 077
mkdir -p "$dir/tls"
random() { [ -s "$dir/$1" ] || openssl rand -base64 "$2" | tr -d '\n' >"$dir/$1"; }
random MS5__AUTH__JWT_SECRET 48
random MS5__AUTH__METRICS_TOKEN 32
# Hex, so that the password needs no escaping inside the store URL.
[ -s "$dir/postgres_password" ] || openssl rand -hex 24 | tr -d '\n' >"$dir/postgres_password"
[ -s "$dir/MS5__STORE__URL" ] ||
  printf 'postgres://ms5:%s@postgres:5432/ms5' "$(cat "$dir/postgres_password")" >"$dir/MS5__STORE__URL"
random redis_password 24
random grafana_admin_password 18
[ -s "$dir/alertmanager_webhook_url" ] || printf 'http://127.0.0.1:9/replace-me' >"$dir/alertmanager_webhook_url"
if [ ! -s "$dir/tls/fullchain.pem" ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=${MS5_HOSTNAME:-ms5.example.com}" \
    -addext "subjectAltName=DNS:${MS5_HOSTNAME:-ms5.example.com}" \
    -keyout "$dir/tls/privkey.pem" -out "$dir/tls/fullchain.pem" 2>/dev/null
fi
echo "secrets in $dir"
