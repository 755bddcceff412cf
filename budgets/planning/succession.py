"""Which organisation takes an ended organisation's place in a later year (the 2017 merger of
Manchester's three CCGs into NHS Manchester CCG): used by budget setting for lines and
contributions, and by the year-end carry forward for an ended partner's underspend share."""

from __future__ import annotations

from django.db.models import Q

from budgets.models import FinancialYear
from localities.models import Organisation


def successor_in(org: Organisation, year: FinancialYear) -> Organisation | None:
    """The organisation that takes `org`'s place in `year`: itself while it exists; after it
    ends, the one organisation of its kind serving its localities from the year's start."""
    if org.valid_to is None or org.valid_to >= year.start_date:
        return org
    candidates = list(
        Organisation.objects.filter(
            kind=org.kind,
            localities__in=org.localities.all(),
            valid_from__lte=year.start_date,
        )
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=year.start_date))
        .exclude(pk=org.pk)
        .distinct()
    )
    return candidates[0] if len(candidates) == 1 else None
