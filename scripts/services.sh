#!/usr/bin/env bash
# Throwaway PostgreSQL and Redis from the system's binaries, on loopback, no systemd.
#   services.sh start   -> prints PGPORT=... REDIS_PORT=... (free ports unless given)
#   services.sh stop    -> stops both, by pid
#   services.sh destroy -> stop and delete the data
# Installs Debian's postgresql and redis-server when missing and running as root.
set -euo pipefail
BASE=${SVC_BASE:-/tmp/gmhsc-svc-$$}
STATE=${SVC_STATE:-}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

ensure_packages() {
  local missing=()
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
  command -v redis-server >/dev/null || missing+=(redis-server)
  if [ "${WITH_BROWSER:-1}" = 1 ]; then command -v chromium >/dev/null || missing+=(chromium fonts-dejavu-core); fi
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then echo "gmhsc: missing ${missing[*]}; install them (apt-get install ${missing[*]})" >&2; exit 1; fi
    echo "installing ${missing[*]} from Debian's packages" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
  fi
}

case "${1:-}" in
start)
  ensure_packages
  PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}
  PGPORT=${PGPORT:-$(free_port)}
  REDIS_PORT=${REDIS_PORT:-$(free_port)}
  mkdir -p "$BASE/pgsock"
  if [ "$(id -u)" = 0 ]; then AS_PG="runuser -u postgres --"; chown -R postgres:postgres "$BASE"; chmod 755 "$BASE"; else AS_PG=""; fi
  $AS_PG "$PGBIN/initdb" -D "$BASE/pgdata" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$BASE/initdb.log"
  $AS_PG "$PGBIN/pg_ctl" -D "$BASE/pgdata" -l "$BASE/pg.log" -w -t 60 -o \
    "-p $PGPORT -k $BASE/pgsock -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 -c shared_buffers=256MB" start >/dev/null
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes --save '' --appendonly no \
    --maxmemory-policy noeviction --pidfile "$BASE/redis.pid" --logfile "$BASE/redis.log" --dir "$BASE"
  for _ in $(seq 100); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  {
    echo "SVC_BASE=$BASE"; echo "PGBIN=$PGBIN"; echo "PGPORT=$PGPORT"; echo "REDIS_PORT=$REDIS_PORT"
    echo "PG_PID=$(head -1 "$BASE/pgdata/postmaster.pid")"; echo "REDIS_PID=$(cat "$BASE/redis.pid")"
  } > "$BASE/env"
  cat "$BASE/env"
  ;;
stop|destroy)
  [ -n "$STATE" ] && [ -f "$STATE" ] && . "$STATE"
  BASE=${SVC_BASE:-$BASE}
  if [ -f "$BASE/redis.pid" ]; then kill "$(cat "$BASE/redis.pid")" 2>/dev/null || true; fi
  if [ -s "$BASE/pgdata/postmaster.pid" ]; then
    pid=$(head -1 "$BASE/pgdata/postmaster.pid"); kill -INT "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  [ "$1" = destroy ] && rm -rf "$BASE"
  ;;
*) echo "usage: $0 start|stop|destroy" >&2; exit 2 ;;
esac
