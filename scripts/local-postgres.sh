#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster for trying several aggregator nodes on one machine.
#   scripts/local-postgres.sh start DIR [PORT]   # prints the database URL
#   scripts/local-postgres.sh stop DIR
# Needs the PostgreSQL server binaries (Debian package `postgresql`). Runs the server as the
# `postgres` user when started as root. Durable settings (fsync on), unlike the test clusters.
set -euo pipefail
cmd=${1:?start|stop}
dir=${2:?directory}
port=${3:-55432}
bin=$(dirname "$(readlink -f "$(command -v initdb 2>/dev/null || ls /usr/lib/postgresql/*/bin/initdb | sort | tail -n 1)")")
run() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case "$cmd" in
  start)
    mkdir -p "$dir"
    dir=$(readlink -f "$dir")
    if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$dir"; fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      run "$bin/initdb" -D "$dir/data" -U ldp --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    fi
    run "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
    run "$bin/psql" -h 127.0.0.1 -p "$port" -U ldp -d postgres -qtc \
      "SELECT 1 FROM pg_database WHERE datname = 'ldp'" | grep -q 1 \
      || run "$bin/psql" -h 127.0.0.1 -p "$port" -U ldp -d postgres -qc "CREATE DATABASE ldp"
    echo "postgres://ldp@127.0.0.1:$port/ldp"
    ;;
  stop)
    run "$bin/pg_ctl" -D "$(readlink -f "$dir")/data" -m fast stop >/dev/null
    ;;
  *)
    echo "usage: $0 start|stop DIR [PORT]" >&2
    exit 2
    ;;
esac
