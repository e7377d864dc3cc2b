#!/usr/bin/env bash
# Starts (or stops) the real services the test suite uses, on loopback only:
#   PostgreSQL on 127.0.0.1:54329 (trust auth, throwaway data dir) and Redis on 127.0.0.1:63799.
# Usage: scripts/test-services.sh start|stop   — then export the variables it prints.
set -euo pipefail
root=${CHORUS_SERVICES_DIR:-/tmp/chorus-services}
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
pg_port=54329
redis_port=63799
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "${1:-start}" in
  start)
    mkdir -p "$root"
    if [ -n "$pg_bin" ]; then
      if [ "$(id -u)" = 0 ]; then chown postgres "$root"; fi
      if [ ! -f "$root/pg/PG_VERSION" ]; then
        as_postgres "$pg_bin/initdb" -D "$root/pg" -A trust -U postgres >"$root/initdb.log" 2>&1
      fi
      if ! as_postgres "$pg_bin/pg_ctl" -D "$root/pg" status >/dev/null 2>&1; then
        as_postgres "$pg_bin/pg_ctl" -D "$root/pg" -l "$root/pg.log" -w \
          -o "-p $pg_port -k $root -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off" start >/dev/null
      fi
      echo "export TEST_DATABASE_URL=postgres://postgres@127.0.0.1:$pg_port/postgres"
    else
      echo "# PostgreSQL not installed: storage tests run on PGlite only" >&2
    fi
    if command -v redis-server >/dev/null; then
      if ! redis-cli -p "$redis_port" ping >/dev/null 2>&1; then
        redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
          --logfile "$root/redis.log" --dir "$root" >/dev/null
      fi
      echo "export TEST_REDIS_URL=redis://127.0.0.1:$redis_port"
    fi
    ;;
  stop)
    [ -n "$pg_bin" ] && [ -f "$root/pg/PG_VERSION" ] && as_postgres "$pg_bin/pg_ctl" -D "$root/pg" -m fast stop >/dev/null 2>&1 || true
    command -v redis-cli >/dev/null && redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
    ;;
esac
