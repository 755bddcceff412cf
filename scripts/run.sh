#!/usr/bin/env bash
# make run: migrate, load reference and demo data, print the demo logins, serve on 127.0.0.1:8000.
# SQLite and in-process tasks by default; with DATABASE_URL and REDIS_URL set, PostgreSQL, Redis and a
# real Celery worker and beat (stopped by pid when the server stops).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
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
echo "Serving gmhsc on http://127.0.0.1:8000 (Ctrl+C to stop)"
$PY manage.py runserver 127.0.0.1:8000 --noreload &
pids+=($!)
wait "${pids[-1]}"
