#!/usr/bin/env bash
# Serialise makemigrations while several people change models at once.
set -euo pipefail
cd "$(dirname "$0")/.."
exec flock /tmp/gmhsc-makemigrations.lock .venv/bin/python manage.py makemigrations "$@"
