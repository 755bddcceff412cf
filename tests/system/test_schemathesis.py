"""The API against its own OpenAPI schema (issue 10 item 3), on the live test server, once per role.

Schemathesis generates requests for every operation in /api/schema/ and sends them with the
token of a commissioner, a finance officer, a board member and an administrator. Gate: no
server error (5xx) and no response that breaks its documented schema. Every POST carries an
Idempotency-Key, as integrators are told to send one.

Nothing is excluded silently: operations left out are listed in EXCLUDED with the reason.
Runtime is bounded by MAX_EXAMPLES per operation and role.
"""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from localities import roles

pytestmark = [pytest.mark.system, pytest.mark.pg]

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "10"))
ROLES = [roles.COMMISSIONER, roles.FINANCE_OFFICER, roles.BOARD_MEMBER, roles.ADMINISTRATOR]
# (method, path) -> why it is not fuzzed here.
EXCLUDED: dict[tuple[str, str], str] = {
    ("POST", "/api/v1/budget-imports/"): (
        "multipart file upload; random bytes only exercise the upload check, which "
        "tests/gmhsc/test_security.py covers; budget import has its own tests"
    ),
}


@pytest.fixture
def role_tokens(django_db_reset_sequences) -> dict[str, str]:
    """Tokens per role over the permission matrix's world, whose objects get ids from 1 (sequences
    reset), so the generated ids reach real objects and their answers are checked too."""
    from rest_framework.authtoken.models import Token

    from tests.test_permission_matrix import _build_world

    world = _build_world()
    return {role: Token.objects.create(user=world.users[role]).key for role in ROLES}


def fuzz_operation(operation: Any, base_url: str, headers: dict[str, str]) -> tuple[int, list[str]]:
    """Run up to MAX_EXAMPLES generated cases; return (cases run, the first failure if any)."""
    seen: list[str] = []
    ran = 0

    @hypothesis_settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        nonlocal ran
        ran += 1
        extra = dict(headers)
        if case.method.upper() == "POST":
            extra["Idempotency-Key"] = str(uuid.uuid4())
        response = case.call(base_url=base_url, headers=extra, timeout=60)
        try:
            case.validate_response(
                response, checks=[not_a_server_error, response_schema_conformance]
            )
        except (Exception, BaseExceptionGroup) as exc:
            if not seen:  # the first failure per operation is enough to act on
                text = str(exc).strip()
                first = " ".join(text.split())[:400] if text else repr(exc)
                seen.append(f"{response.status_code} {case.formatted_path}: {first}")

    run()
    return ran, seen


@pytest.mark.parametrize("role", ROLES)
def test_api_conforms_to_its_schema(live_server, role_tokens, role):
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/schema/?format=json")
    headers = {"Authorization": f"Token {role_tokens[role]}"}
    failures: list[str] = []
    cases = 0
    operations = 0
    started = time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        key = (operation.method.upper(), operation.path)
        if key in EXCLUDED:
            continue
        operations += 1
        ran, seen = fuzz_operation(operation, live_server.url, headers)
        cases += ran
        failures.extend(f"{key[0]} {key[1]} -> {problem}" for problem in seen)

    elapsed = time.monotonic() - started
    print(f"schemathesis [{role}]: {operations} operations, {cases} cases in {elapsed:.0f} s")
    assert operations >= 10
    assert not failures, f"{len(failures)} failing operations as {role}:\n  " + "\n  ".join(
        failures
    )
