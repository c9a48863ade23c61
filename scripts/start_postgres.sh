#!/usr/bin/env bash
# Start a throw-away PostgreSQL server on loopback for the `postgres` tests and print its URL.
# Installs Debian's postgresql package when no server binaries are found. Usage:
#   eval "$(scripts/start_postgres.sh)"   # exports SERENDIP_TEST_PG_URL
set -euo pipefail
PORT="${SERENDIP_PG_PORT:-54329}"
DATA="${SERENDIP_PG_DATA:-/tmp/serendip-pg-$PORT}"
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  echo "installing postgresql (Debian package)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
  bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi
# the server refuses to run as root: run it as the 'postgres' user the package creates
run() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
  useradd --system --no-create-home postgres
fi
if run "$bindir/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
  echo "PostgreSQL already running on 127.0.0.1:$PORT" >&2
else
  rm -rf "$DATA"
  mkdir -p "$DATA"
  [ "$(id -u)" = 0 ] && chown postgres "$DATA"
  run "$bindir/initdb" -D "$DATA" -A trust -U postgres -E UTF8 >/dev/null
  run "$bindir/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w \
      -o "-h 127.0.0.1 -p $PORT -k $DATA" start >&2
fi
echo "export SERENDIP_TEST_PG_URL=postgresql+psycopg://postgres@127.0.0.1:$PORT/postgres"
