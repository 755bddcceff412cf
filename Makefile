# gmhsc front door. `make run` serves the app with demo data; `make test` runs everything CI runs.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# `make run` needs only what the app runs on; the dev tools (pytest, Playwright, mypy, ruff,
# schemathesis...) are installed by the targets that use them. Either stamp up to date will do.
RUN_STAMP := $(VENV)/.installed-run
VENDOR_STAMP := static/vendor/.installed

.PHONY: help install run test lint fmt typecheck migrations-check worker beat bench seed clean services-start services-stop

help:
	@echo "make run       set up, load reference and demo data, serve on http://127.0.0.1:8000"
	@echo "make test      lint, type checks, migrations check, pytest on PostgreSQL + Redis + Celery, browser tests"
	@echo "make bench     GM-scale benchmarks (see README, Performance)"
	@echo "make lint | fmt | typecheck | worker | beat | seed | clean"

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "gmhsc: $(PYTHON) not found; install Python 3.11" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e ".[dev]"
	@touch $(STAMP)

$(RUN_STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "gmhsc: $(PYTHON) not found; install Python 3.11" >&2; exit 1; }
	@if [ -f $(STAMP) ] && [ $(STAMP) -nt pyproject.toml ]; then touch $(RUN_STAMP); else \
	  $(PYTHON) -m venv $(VENV) && \
	  $(VENV)/bin/pip install -q --upgrade pip && \
	  $(VENV)/bin/pip install -q -e . && \
	  touch $(RUN_STAMP); fi

$(VENDOR_STAMP): package.json package-lock.json scripts/vendor.sh
	scripts/vendor.sh
	@touch $(VENDOR_STAMP)

install: $(STAMP) $(VENDOR_STAMP)

seed: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_reference
	$(PY) manage.py seed_demo

run: $(RUN_STAMP) $(VENDOR_STAMP)
	scripts/run.sh

test: install
	scripts/test.sh

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

fmt: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

typecheck: install
	$(VENV)/bin/mypy gmhsc localities budgets commissioning boards

worker: install
	$(VENV)/bin/celery -A gmhsc worker -Q default,recompute,imports,exports --without-gossip --without-mingle --without-heartbeat -l INFO

beat: install
	$(VENV)/bin/celery -A gmhsc beat -l INFO

bench: install
	scripts/bench.sh

clean:
	rm -rf $(VENV) node_modules static/vendor staticfiles db.sqlite3 db.sqlite3-wal db.sqlite3-shm media var
