#!/bin/sh
# Exports each secret file /run/secrets/MS5__* (compose and Kubernetes secrets mounted as
# files) as the variable it is named after, then runs ms5 with the given arguments.
set -eu
for file in /run/secrets/MS5__*; do
  [ -f "$file" ] || continue
  name=$(basename "$file")
  value=$(cat "$file")
  export "$name=$value"
done
exec /usr/local/bin/ms5 "$@"
