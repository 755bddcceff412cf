#!/usr/bin/env bash
# make run: migrate, load reference and demo data, print the demo logins, serve on 127.0.0.1:8000
# (PORT to change it). SQLite and in-process tasks by default; with DATABASE_URL and REDIS_URL set,
# PostgreSQL, Redis and a real Celery worker and beat (stopped by pid when the server stops).
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
if [ -n "${REDIS_URL:-}" ]; then
  .venv/bin/celery -A gmhsc worker -Q default,recompute,imports,exports -l WARNING & pids+=($!)
  .venv/bin/celery -A gmhsc beat -l WARNING --schedule /tmp/gmhsc-celerybeat-schedule & pids+=($!)
  echo "Celery worker (pid ${pids[0]}) and beat (pid ${pids[1]}) started against $REDIS_URL"
else
  echo "No REDIS_URL: background tasks run in-process."
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
