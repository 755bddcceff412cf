"""factory-boy factories for boards."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from boards.models import (
    ActionItem,
    AgendaItem,
    Board,
    Interest,
    Meeting,
    Membership,
)
from localities import roles
from tests.factories import OrganisationFactory, UserFactory


class BoardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Board
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"B{n}")
    name = factory.Sequence(lambda n: f"Test Board {n}")
    kind = Board.Kind.LOCALITY
    delegated_limit = Decimal("5000000.00")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    board = factory.SubFactory(BoardFactory)
    person = factory.SubFactory(UserFactory, roles=[roles.BOARD_MEMBER])
    organisation = factory.LazyAttribute(lambda m: m.person.organisation)
    role = Membership.Role.MEMBER
    voting = True


class MeetingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Meeting

    board = factory.SubFactory(BoardFactory)
    title = factory.Sequence(lambda n: f"Meeting {n}")
    starts_at = factory.LazyFunction(lambda: timezone.make_aware(dt.datetime(2016, 10, 12, 14, 0)))


class AgendaItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgendaItem

    meeting = factory.SubFactory(MeetingFactory)
    order = factory.Sequence(lambda n: n + 1)
    title = factory.Sequence(lambda n: f"Item {n}")
    purpose = AgendaItem.Purpose.DECISION


class InterestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Interest

    person = factory.SubFactory(UserFactory)
    kind = Interest.Kind.FINANCIAL
    description = "Shareholding"
    related_organisation = factory.SubFactory(OrganisationFactory)
    valid_from = dt.date(2016, 4, 1)
    declared_on = dt.date(2016, 4, 1)
    recorded_by = factory.LazyAttribute(lambda i: i.person)


class ActionItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ActionItem

    meeting = factory.SubFactory(MeetingFactory)
    reference = factory.Sequence(lambda n: f"A/{n:03d}")
    description = "Report back"
    owner = factory.SubFactory(UserFactory)
    due_date = dt.date(2016, 11, 1)


def pdf_bytes(pages: int = 1, text: str = "Paper") -> bytes:
    """A small real PDF with `pages` pages (WeasyPrint)."""
    from weasyprint import HTML

    body = "".join(
        f'<section style="page-break-after: always"><h1>{text} page {n + 1}</h1></section>'
        for n in range(pages)
    )
    return HTML(string=f"<html><body>{body}</body></html>").write_pdf()
