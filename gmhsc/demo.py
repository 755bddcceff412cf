"""Composes each app's demo data in layer order. Each app owns its own demo module."""

from __future__ import annotations

import importlib
from collections.abc import Iterator

from django.db import transaction

from boards import demo as boards_demo
from localities import demo as localities_demo

# Layer order: money first, then what it buys, then governance that reads both.
APP_DEMOS_BEFORE_BOARDS = [
    "budgets.demo.funds",  # funds, contributions, agreements, lines, phasing, approval
    "budgets.demo.spend",  # ledger mappings and six months of postings
    "commissioning.demo",  # services, contracts, commitments, BCF schemes
    "budgets.demo.recompute",  # snapshots for every fund
    "budgets.demo.reports",  # closed months with frozen report snapshots
]
APP_DEMOS_AFTER_BOARDS = ["boards.demo_meetings"]


def _run(module_names: list[str]) -> Iterator[str]:
    for name in module_names:
        yield from importlib.import_module(name).seed()


def seed_all() -> Iterator[str]:
    with transaction.atomic():
        users = localities_demo.seed_users()
    yield f"demo users: {len(users)}"
    yield from _run(APP_DEMOS_BEFORE_BOARDS)
    with transaction.atomic():
        boards_demo.link_funds()
        yield f"board memberships: {boards_demo.seed_memberships()}"
    yield from _run(APP_DEMOS_AFTER_BOARDS)


def logins() -> str:
    return localities_demo.login_table()
