"""Create a commissioning Provider for every NHS provider trust of the reference data."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from commissioning.services import providers_sync_trusts


class Command(BaseCommand):
    help = "Add every NHS trust of the reference data to the providers list (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"providers added: {providers_sync_trusts()}")
