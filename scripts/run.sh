#!/usr/bin/env bash
# make run: migrate, load reference and demo data, print the demo logins, serve on 127.0.0.1:8000.
# Background work never runs inside a request: by default (SQLite, no REDIS_URL) a Celery worker with
# beat inside it takes tasks from a folder-based broker (var/broker/, gmhsc/settings/local.py); with
# DATABASE_URL and REDIS_URL set, PostgreSQL, Redis and a worker and a beat. Everything started here is
# stopped by pid when the server stops.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
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
mkdir -p var
if [ -n "${REDIS_URL:-}" ]; then
  "${WORKER[@]}" & pids+=($!)
  .venv/bin/celery -A gmhsc beat -l WARNING --schedule var/celerybeat-schedule & pids+=($!)
  echo "Celery worker (pid ${pids[0]}) and beat (pid ${pids[1]}) started against $REDIS_URL"
elif [ "${CELERY_TASK_ALWAYS_EAGER:-}" = "true" ]; then
  echo "CELERY_TASK_ALWAYS_EAGER=true: background tasks run in-process."
else
  "${WORKER[@]}" --concurrency 1 --beat --schedule var/celerybeat-schedule & pids+=($!)
  echo "Background worker with beat (pid ${pids[0]}) started on the folder broker var/broker/"
fi
$PY -c 'import django, os; os.environ.setdefault("DJANGO_SETTINGS_MODULE","gmhsc.settings.local"); django.setup(); from gmhsc import demo; print(demo.logins())'
echo
echo "Serving gmhsc on http://127.0.0.1:8000 (Ctrl+C to stop)"
$PY manage.py runserver 127.0.0.1:8000 --noreload &
pids+=($!)
wait "${pids[-1]}"
