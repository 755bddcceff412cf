"""Idempotent posting under concurrency (issue 10 item 4), against the live test server.

20,000 postings from 50 concurrent API clients through POST /api/v1/spend-postings/, sent the
way ledgers post: in batches of 10 postings, each batch request with its own Idempotency-Key and
sent 1 to 3 times (a retry after a lost answer). 2,000 keyed requests, about 4,000 sends. Afterwards: exactly
20,000 rows, the total exact to the penny, every replay answered with the first answer byte for
byte, and the same key with a different body refused without writing anything.

Written to the contract in architecture.md ("spend posted -> figures recomputed"); the request
body is built in `posting_body()`.
FAULT_POSTINGS / FAULT_CLIENTS / FAULT_BATCH shrink the run for local experiments. A real Celery
worker takes the recomputes the postings enqueue; afterwards no stale mark is left and the
snapshot's year-to-date actual equals the control total.
"""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
import requests
from django.db.models import Sum
from django.urls import reverse

from localities import roles

pytestmark = [pytest.mark.system, pytest.mark.pg]

POSTINGS = int(os.environ.get("FAULT_POSTINGS", "20000"))
CLIENTS = int(os.environ.get("FAULT_CLIENTS", "50"))
BATCH = int(os.environ.get("FAULT_BATCH", "10"))
SEED = 20161031
KEY_NAMESPACE = uuid.UUID("6f1c2a52-6a0e-4a52-9c61-1a5e0b2d2016")


def endpoint_path() -> str:
    return reverse("spend-posting-list")


def posting_body(i: int, *, line_ids: list[int], organisation_code: str) -> dict[str, Any]:
    """One posting; amounts are deterministic pennies so the control total is known exactly."""
    rng = random.Random(SEED * 100_003 + i)
    pence = rng.randint(-50_000, 5_000_000)
    month = 4 + (i % 6)  # April..September 2016 (M1..M6)
    return {
        "organisation": organisation_code,
        "document_number": f"API-{i // 3:06d}",
        "line_number": i % 3 + 1,
        "posting_date": f"2016-{month:02d}-15",
        "amount": str(Decimal(pence) / 100),
        "budget_line": line_ids[i % len(line_ids)],
        "supplier": f"Supplier {i % 97}",
        "description": "Concurrency test",
        "is_accrual": False,
    }


@pytest.fixture
def posting_world(transactional_db):
    from rest_framework.authtoken.models import Token

    from tests.budgets.factories import budget_world

    world = budget_world(status="approved")
    lines = [world.host_line, world.ccg_line]
    user = world.fin_host
    if not roles.has_role(user, roles.FINANCE_OFFICER):
        pytest.fail("the host finance officer must hold the finance officer role")
    token = Token.objects.create(user=user).key
    return {
        "token": token,
        "line_ids": [ln.pk for ln in lines],
        "org": world.host,
        "fund": world.fund,
    }


def test_concurrent_retried_postings_are_written_exactly_once(
    live_server, posting_world, celery_worker_proc
):
    from budgets.models import LineVariance, SpendPosting, StaleMark
    from tests.conftest import wait_for

    url = live_server.url + endpoint_path()
    org_code = posting_world["org"].code
    bodies = [
        posting_body(i, line_ids=posting_world["line_ids"], organisation_code=org_code)
        for i in range(POSTINGS)
    ]
    expected_total = sum((Decimal(b["amount"]) for b in bodies), Decimal("0.00"))
    batches = [
        {"organisation": org_code, "postings": bodies[start : start + BATCH]}
        for start in range(0, POSTINGS, BATCH)
    ]
    keys = [str(uuid.uuid5(KEY_NAMESPACE, str(i))) for i in range(len(batches))]
    sends = [random.Random(SEED + i).randint(1, 3) for i in range(len(batches))]
    headers = {"Authorization": f"Token {posting_world['token']}"}
    problems: list[str] = []
    lock = threading.Lock()
    local = threading.local()

    def session() -> requests.Session:
        if not hasattr(local, "session"):
            local.session = requests.Session()
            local.session.headers.update(headers)
        return local.session

    def send(i: int) -> int:
        answers = []
        for _attempt in range(sends[i]):
            for _retry in range(5):  # transport hiccups are retried with the same key
                try:
                    response = session().post(
                        url, json=batches[i], headers={"Idempotency-Key": keys[i]}, timeout=60
                    )
                    break
                except requests.ConnectionError:
                    time.sleep(0.2)
            else:
                with lock:
                    problems.append(f"batch {i}: no answer after 5 connection attempts")
                return 0
            answers.append((response.status_code, response.content))
        first_status, first_body = answers[0]
        if first_status not in (200, 201):
            with lock:
                problems.append(f"batch {i}: {first_status} {first_body[:200]!r}")
        if any(answer != answers[0] for answer in answers[1:]):
            with lock:
                problems.append(f"batch {i}: a replay differed from the first answer")
        return len(answers)

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        requests_sent = sum(pool.map(send, range(len(batches)), chunksize=5))
    elapsed = time.monotonic() - started
    print(
        f"fault postings: {POSTINGS} postings in {len(batches)} keyed batches, {requests_sent} "
        f"requests from {CLIENTS} clients "
        f"in {elapsed:.0f} s"
    )
    assert not problems[:20], "\n".join(problems[:20])

    fund = posting_world["fund"]
    postings = SpendPosting.objects.filter(fund=fund)
    assert postings.count() == POSTINGS
    assert postings.aggregate(total=Sum("amount"))["total"] == expected_total
    assert (
        postings.values("organisation", "document_number", "line_number").distinct().count()
        == POSTINGS
    )

    # The same key with a different body is refused, and nothing is written.
    first = dict(bodies[0], amount=str(Decimal(bodies[0]["amount"]) + Decimal("0.01")))
    changed = {**batches[0], "postings": [first, *batches[0]["postings"][1:]]}
    response = requests.post(
        url, json=changed, headers={**headers, "Idempotency-Key": keys[0]}, timeout=60
    )
    assert response.status_code in (409, 422), response.content
    assert response.json()["code"]
    assert SpendPosting.objects.filter(fund=fund).count() == POSTINGS
    assert SpendPosting.objects.filter(fund=fund).aggregate(total=Sum("amount"))["total"] == (
        expected_total
    )

    # The real worker took every recompute the postings enqueued: no stale mark is left and the
    # year-to-date actual at M6 (the postings run April to September) is the control total.
    wait_for(lambda: not StaleMark.objects.filter(fund=fund).exists(), timeout=120)
    ytd = LineVariance.objects.filter(fund=fund, period_number=6).aggregate(t=Sum("ytd_actual"))
    assert ytd["t"] == expected_total
