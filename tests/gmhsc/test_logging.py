"""Structured logs: LOG_FORMAT=json gives one JSON object per line, each carrying the request id."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gmhsc.logging import JsonFormatter
from gmhsc.middleware import RequestIdFilter, request_id_var

ROOT = Path(__file__).resolve().parents[2]


def make_record(message: str = "posted %s rows", *args, exc_info=None) -> logging.LogRecord:
    return logging.LogRecord("gmhsc.test", logging.INFO, __file__, 1, message, args, exc_info)


def test_json_formatter_writes_one_object_per_line():
    record = make_record("posted %s rows", 20000)
    RequestIdFilter().filter(record)
    line = JsonFormatter().format(record)
    assert "\n" not in line
    payload = json.loads(line)
    assert payload["message"] == "posted 20000 rows"
    assert payload["level"] == "INFO"
    assert payload["logger"] == "gmhsc.test"
    assert payload["request_id"] == "-"
    assert payload["time"].endswith("+00:00")


def test_json_formatter_includes_exceptions():
    try:
        raise ValueError("bad row")
    except ValueError:
        record = make_record("failed", exc_info=sys.exc_info())
    payload = json.loads(JsonFormatter().format(record))
    assert "ValueError: bad row" in payload["exception"]


def test_filter_takes_the_current_request_id():
    token = request_id_var.set("abc-123")
    try:
        record = make_record()
        RequestIdFilter().filter(record)
    finally:
        request_id_var.reset(token)
    assert record.request_id == "abc-123"


@pytest.mark.django_db
def test_request_id_is_echoed_or_generated(client):
    response = client.get("/accounts/login/", HTTP_X_REQUEST_ID="lb-42.a_b")
    assert response["X-Request-ID"] == "lb-42.a_b"
    generated = client.get("/accounts/login/")["X-Request-ID"]
    assert len(generated) == 32
    unsafe = client.get("/accounts/login/", HTTP_X_REQUEST_ID="bad id\n{}")["X-Request-ID"]
    assert unsafe != "bad id\n{}"
    assert len(unsafe) == 32


@pytest.mark.django_db
def test_log_lines_inside_a_request_carry_its_id(client, caplog):
    caplog.set_level(logging.WARNING, logger="django.request")
    for handler in [caplog.handler]:
        handler.addFilter(RequestIdFilter())
    client.get("/no-such-page-here/", HTTP_X_REQUEST_ID="req-777")
    records = [r for r in caplog.records if r.name == "django.request"]
    assert records, "Django logs a 404 warning"
    assert records[-1].request_id == "req-777"
    payload = json.loads(JsonFormatter().format(records[-1]))
    assert payload["request_id"] == "req-777"
    assert payload["level"] == "WARNING"


def test_log_format_json_configures_the_console_handler():
    code = (
        "import django, logging; django.setup(); "
        "logging.getLogger('gmhsc.check').warning('hello %s', 'json')"
    )
    env = dict(
        os.environ,
        LOG_FORMAT="json",
        DJANGO_SETTINGS_MODULE="gmhsc.settings.local",
        DATABASE_URL="sqlite:////tmp/gmhsc-log-test.sqlite3",
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    ours = [line for line in lines if line["logger"] == "gmhsc.check"]
    assert ours == [
        {
            "time": ours[0]["time"],
            "level": "WARNING",
            "logger": "gmhsc.check",
            "message": "hello json",
            "request_id": "-",
        }
    ]
