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
    "budgets.demo.cycle",  # 2016/17 to year end and settled, 2017/18 set and run to M6, 2018/19
    "budgets.demo.recompute",  # snapshots for every fund and year
    "budgets.demo.reports",  # which closed months' reports fill in after the server starts
]
APP_DEMOS_AFTER_BOARDS = ["boards.demo_meetings"]
# What can wait until the server is up: enqueued by task name (gmhsc.background) by
# `seed_demo --fill-in`, in this order.
APP_FILL_INS = ["budgets.demo.reports", "boards.demo_meetings"]


def _run(module_names: list[str]) -> Iterator[str]:
    for name in module_names:
        yield from importlib.import_module(name).seed()


def seed_all() -> Iterator[str]:
    """Every app's demo data in one transaction: the recomputes each change asks for run once the
    whole demo is in (and find the full recompute has done their work), not after each step."""
    with transaction.atomic():
        users = localities_demo.seed_users()
        yield f"demo users: {len(users)}"
        yield from _run(APP_DEMOS_BEFORE_BOARDS)
        boards_demo.link_funds()
        yield f"board memberships: {boards_demo.seed_memberships()}"
        yield from _run(APP_DEMOS_AFTER_BOARDS)


def fill_in() -> Iterator[str]:
    """Enqueue what the demo leaves for after the server starts (frozen month-end reports, the
    latest month's files, board packs)."""
    for name in APP_FILL_INS:
        yield from importlib.import_module(name).fill_in()


def logins() -> str:
    return localities_demo.login_table()
