#!/usr/bin/env bash
# make bench: GM-scale benchmarks on real parts, all on loopback, stopped by pid afterwards.
#   scripts/bench.sh            default size (10,000 budget lines, 1,000,000 postings)
#   scripts/bench.sh --large    10,000,000 postings
#   scripts/bench.sh --only bench_reports   run one module
# Starts its own PostgreSQL and Redis (scripts/services.sh, dedicated SVC_BASE); bench/run.py starts
# a Celery worker and gunicorn, runs every bench/bench_*.py module, and writes
# bench/results/summary.json with the machine's description.
set -uo pipefail
cd "$(dirname "$0")/.."
VENV=.venv
export SVC_BASE=$(mktemp -d /tmp/gmhsc-bench-XXXXXX)
chmod 755 "$SVC_BASE"
export WITH_BROWSER=0
cleanup() { scripts/services.sh destroy >/dev/null 2>&1 || true; }
trap cleanup EXIT INT TERM

eval "$(scripts/services.sh start)" || { echo "gmhsc: could not start PostgreSQL/Redis" >&2; exit 1; }
createdb -h 127.0.0.1 -p "$PGPORT" -U postgres gmhsc_bench
export DATABASE_URL="postgres://postgres@127.0.0.1:$PGPORT/gmhsc_bench"
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
export DJANGO_SETTINGS_MODULE=gmhsc.settings.local DEBUG=0
export MEDIA_ROOT="$SVC_BASE/media"
echo "bench: PostgreSQL on 127.0.0.1:$PGPORT (pid $PG_PID), Redis on 127.0.0.1:$REDIS_PORT (pid $REDIS_PID)"
$VENV/bin/python bench/run.py --pg-port "$PGPORT" --redis-port "$REDIS_PORT" --svc-base "$SVC_BASE" "$@"
