#!/usr/bin/env bash
# Installs MS5 on an edge device (Debian or Ubuntu with systemd), as root:
#   sudo deploy/edge/install.sh path/to/ms5
# Puts the binary in /usr/local/bin, the configuration in /etc/ms5 (kept if there), a random
# JWT secret in /etc/ms5/secrets.env (kept if there), the service, the hourly backup timer and
# the journald limits; then starts MS5. Run again to upgrade the binary (the previous one is
# kept as /usr/local/bin/ms5.previous for a rollback).
set -euo pipefail
binary="${1:?usage: install.sh path/to/ms5}"
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }

"$binary" --version >/dev/null
id ms5 >/dev/null 2>&1 || useradd --system --home-dir /var/lib/ms5 --shell /usr/sbin/nologin ms5

install -d -m 0755 /etc/ms5
for f in production.toml plant.toml; do
  [ -e "/etc/ms5/$f" ] || install -m 0644 "$repo/config/$f" "/etc/ms5/$f"
done
if [ ! -s /etc/ms5/secrets.env ]; then
  install -m 0600 /dev/null /etc/ms5/secrets.env
  echo "MS5__AUTH__JWT_SECRET=$(openssl rand -base64 48 | tr -d '\n')" >/etc/ms5/secrets.env
fi
set -a; . /etc/ms5/secrets.env; set +a
"$binary" --config /etc/ms5/production.toml check-config

if [ -e /usr/local/bin/ms5 ]; then
  cp -p /usr/local/bin/ms5 /usr/local/bin/ms5.previous
fi
install -m 0755 "$binary" /usr/local/bin/ms5.new
mv -f /usr/local/bin/ms5.new /usr/local/bin/ms5

install -m 0644 "$here/ms5.service" "$here/ms5-backup.service" "$here/ms5-backup.timer" /etc/systemd/system/
install -d -m 0755 /etc/systemd/journald.conf.d
install -m 0644 "$here/journald-ms5.conf" /etc/systemd/journald.conf.d/ms5.conf
systemctl restart systemd-journald
systemctl daemon-reload
systemctl enable ms5.service ms5-backup.timer
systemctl restart ms5.service
systemctl start ms5-backup.timer
systemctl --no-pager --lines=5 status ms5.service || true
echo "MS5 installed. First admin:"
echo "  sudo -u ms5 env \$(sudo cat /etc/ms5/secrets.env) MS5__STORE__URL=sqlite:///var/lib/ms5/ms5.db ms5 --config /etc/ms5/production.toml user add --username <name> --role admin"
