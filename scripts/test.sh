#!/usr/bin/env bash
# Everything CI runs: lint, types, migrations check, the pytest suite on a throwaway PostgreSQL
# and Redis with a real Celery worker, and the browser tests in Debian's Chromium.
# Stops what it started, by pid, also when a step fails.
set -uo pipefail
cd "$(dirname "$0")/.."
VENV=.venv
export SVC_BASE=$(mktemp -d /tmp/gmhsc-test-XXXXXX)
chmod 755 "$SVC_BASE"
cleanup() { scripts/services.sh destroy >/dev/null 2>&1 || true; }
trap cleanup EXIT INT TERM

status=0
step() { echo; echo "== $1"; shift; "$@"; local rc=$?; [ $rc -ne 0 ] && { echo "!! failed: $rc"; status=1; }; return 0; }

eval "$(scripts/services.sh start)" || { echo "gmhsc: could not start PostgreSQL/Redis" >&2; exit 1; }
createdb -h 127.0.0.1 -p "$PGPORT" -U postgres gmhsc
export DATABASE_URL="postgres://postgres@127.0.0.1:$PGPORT/gmhsc"
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
export DJANGO_SETTINGS_MODULE=gmhsc.settings.test
echo "PostgreSQL on 127.0.0.1:$PGPORT (pid $PG_PID), Redis on 127.0.0.1:$REDIS_PORT (pid $REDIS_PID)"

step "ruff check" $VENV/bin/ruff check .
step "ruff format --check" $VENV/bin/ruff format --check .
step "import-linter (layers)" $VENV/bin/lint-imports
step "mypy" $VENV/bin/mypy gmhsc localities budgets commissioning boards
step "makemigrations --check" $VENV/bin/python manage.py makemigrations --check --dry-run
step "check --deploy (production settings)" env DJANGO_SETTINGS_MODULE=gmhsc.settings.production \
  SECRET_KEY="ci-only-$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')" \
  ALLOWED_HOSTS=gmhsc.example.org $VENV/bin/python manage.py check --deploy --fail-level WARNING
step "pytest" $VENV/bin/pytest -q -p no:randomly --durations=25 ${PYTEST_ARGS:-}
exit $status
