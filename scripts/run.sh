#!/usr/bin/env bash
# make run: migrate, load reference and demo data, print the demo logins, serve on 127.0.0.1:8000.
# Background work never runs inside a request: by default (SQLite, no REDIS_URL) a Celery worker with
# beat inside it takes tasks from a folder-based broker (var/broker/, gmhsc/settings/local.py); with
# DATABASE_URL and REDIS_URL set, PostgreSQL, Redis and a worker and a beat. Everything started here is
# stopped by pid when the server stops.
# What the demo leaves for later (frozen month-end reports, the latest month's files, the board
# pack) is enqueued once the server answers: `seed_demo --fill-in`, in the background.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PORT=${PORT:-8000}
export DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-gmhsc.settings.local}
$PY manage.py migrate --noinput
$PY manage.py seed_demo --quiet-logins
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM
# Gossip, mingle and worker events are off: nothing here uses them, and Gossip's channel teardown on a
# lost broker connection raised AttributeError ("'NoneType' object has no attribute 'hostname'" /
# "'connection_errors'") and could stop the worker for good.
WORKER=(.venv/bin/celery -A gmhsc worker -Q default,recompute,imports,exports
        --without-gossip --without-mingle --without-heartbeat -l WARNING)
# Starts "$@" again whenever it exits (a crash, `kill -9`, out of memory) until make run stops;
# the work it held is picked up again by the job sweep (README, Operations).
keep_running() {
  local child=""
  trap '[ -n "$child" ] && kill "$child" 2>/dev/null; wait 2>/dev/null; exit 0' TERM INT
  while true; do
    "$@" & child=$!
    wait "$child" && status=0 || status=$?
    echo "gmhsc: $1 ${2:-} ${3:-} ${4:-} exited ($status); starting it again in 5 s" >&2
    sleep 5 & wait $!
  done
}
mkdir -p var
if [ -n "${REDIS_URL:-}" ]; then
  keep_running "${WORKER[@]}" & pids+=($!)
  keep_running .venv/bin/celery -A gmhsc beat -l WARNING --schedule var/celerybeat-schedule & pids+=($!)
  echo "Celery worker and beat started against $REDIS_URL (restarted if they stop)"
elif [ "${CELERY_TASK_ALWAYS_EAGER:-}" = "true" ]; then
  echo "CELERY_TASK_ALWAYS_EAGER=true: background tasks run in-process."
else
  keep_running "${WORKER[@]}" --concurrency 1 --beat --schedule var/celerybeat-schedule & pids+=($!)
  echo "Background worker with beat started on the folder broker var/broker/ (restarted if it stops)"
fi
$PY -c 'import django, os; os.environ.setdefault("DJANGO_SETTINGS_MODULE","gmhsc.settings.local"); django.setup(); from gmhsc import demo; print(demo.logins())'
echo
echo "Serving gmhsc on http://127.0.0.1:$PORT (Ctrl+C to stop)"
$PY manage.py runserver "127.0.0.1:$PORT" --noreload &
server=$!
pids+=($server)
# Once the first page answers, the demo's month-end reports and board pack fill in behind it.
ANSWERS='import sys, urllib.error, urllib.request
try:
    urllib.request.urlopen(sys.argv[1], timeout=2)
except urllib.error.HTTPError:
    pass  # it answers (the health check says 503 until a worker beats)
except OSError:
    sys.exit(1)'
for _ in $(seq 1 240); do
  if $PY -c "$ANSWERS" "http://127.0.0.1:$PORT/health/" 2>/dev/null; then break; fi
  if ! kill -0 "$server" 2>/dev/null; then break; fi
  sleep 0.5
done
mkdir -p media
$PY manage.py seed_demo --fill-in > media/demo-fill-in.log 2>&1 &
pids+=($!)
echo "The demo's month-end reports and board pack are being prepared in the background (pid $!," \
  "log media/demo-fill-in.log); the home page says what is still to come."
wait "$server"
