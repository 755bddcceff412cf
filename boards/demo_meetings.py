"""Demo meetings for the GM boards in 2016/17: agendas with papers, decisions, interests, gifts,
declarations, actions and minutes. Idempotent (meetings are keyed by board and start time) and
deterministic (fixed data plus random.Random with a fixed seed)."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from boards import services
from boards.models import (
    ActionItem,
    AgendaItem,
    Board,
    BoardPack,
    Decision,
    GiftHospitality,
    Interest,
    Meeting,
)
from boards.selectors import possible_conflicts
from gmhsc.background import enqueue_on_commit
from localities.actors import Actor
from localities.models import Organisation, User

SEED = 20160401

MEETINGS: dict[str, list[tuple[str, dt.date]]] = {
    "SPB": [
        ("Partnership board – July", dt.date(2016, 7, 29)),
        ("Partnership board – January", dt.date(2017, 1, 27)),
    ],
    "JCB": [
        ("June meeting", dt.date(2016, 6, 15)),
        ("September meeting", dt.date(2016, 9, 14)),
        ("December meeting", dt.date(2016, 12, 14)),
        ("March meeting", dt.date(2017, 3, 15)),
    ],
    "MJCE": [
        ("July executive", dt.date(2016, 7, 6)),
        ("October executive", dt.date(2016, 10, 5)),
        ("January executive", dt.date(2017, 1, 11)),
    ],
    "LB-BOL": [
        ("August board", dt.date(2016, 8, 10)),
        ("November board", dt.date(2016, 11, 9)),
        ("February board", dt.date(2017, 2, 8)),
    ],
}

# Items after the standing ones: (title, purpose, presenter, private, provider codes, amount)
BUSINESS: dict[str, list[tuple[str, str, str, bool, list[str], Decimal | None]]] = {
    "SPB": [
        (
            "Transformation fund: locality bids",
            "decision",
            "GM Health and Social Care Partnership",
            False,
            [],
            Decimal("28800000.00"),
        ),
        ("Devolution progress report", "assurance", "Chief Officer", False, [], None),
    ],
    "JCB": [
        (
            "Specialised cancer services commissioning intentions",
            "decision",
            "Director of Commissioning",
            False,
            ["RBV"],
            Decimal("4500000.00"),
        ),
        (
            "Acute contract variation: Central Manchester",
            "decision",
            "Director of Finance",
            True,
            ["RW3"],
            Decimal("12000000.00"),
        ),
        (
            "Ambulance service performance",
            "assurance",
            "Director of Commissioning",
            False,
            ["RX7"],
            None,
        ),
    ],
    "MJCE": [
        (
            "Community services contract extension",
            "decision",
            "Strategic Director of Adult Social Services",
            False,
            ["TAE"],
            Decimal("2400000.00"),
        ),
        (
            "Manchester locality plan: neighbourhood teams",
            "discussion",
            "Chief Officer, Central Manchester CCG",
            False,
            [],
            None,
        ),
    ],
    "LB-BOL": [
        (
            "Intermediate care beds at Bolton FT",
            "decision",
            "Director of Adult Services",
            False,
            ["RMC"],
            Decimal("850000.00"),
        ),
        ("Better Care Fund quarterly return", "assurance", "Finance lead", False, [], None),
    ],
}

INTERESTS = [
    # username, kind, description, relationship, organisation code, from, to, mitigation
    (
        "board.manchester",
        Interest.Kind.NON_FINANCIAL_PROFESSIONAL,
        "Honorary consultant contract",
        "",
        "RW3",
        dt.date(2014, 4, 1),
        None,
        "Leaves the room for decisions on the trust's contracts",
    ),
    (
        "board.manchester",
        Interest.Kind.INDIRECT,
        "Spouse is a non-executive director",
        "Spouse",
        "TAE",
        dt.date(2015, 9, 1),
        None,
        "Takes no part in decisions on the trust",
    ),
    (
        "board.chair",
        Interest.Kind.FINANCIAL,
        "Shareholding in a supplier of cancer diagnostics",
        "",
        "RBV",
        dt.date(2016, 1, 1),
        dt.date(2016, 8, 31),
        "Shares sold August 2016",
    ),
    (
        "board.bolton",
        Interest.Kind.NON_FINANCIAL_PERSONAL,
        "Trustee of the hospital charity",
        "",
        "RMC",
        dt.date(2013, 6, 1),
        None,
        "Declares at each meeting; does not vote on the trust's contracts",
    ),
    (
        "board.bolton",
        Interest.Kind.FINANCIAL,
        "GP partner in a practice holding an enhanced services contract",
        "",
        "00T",
        dt.date(2012, 4, 1),
        None,
        "Excluded from primary care investment decisions",
    ),
]

GIFTS = [
    (
        "board.chair",
        GiftHospitality.Kind.HOSPITALITY,
        "Conference dinner",
        "NHS Confederation",
        False,
        Decimal("45.00"),
        dt.date(2016, 6, 20),
        True,
    ),
    (
        "board.manchester",
        GiftHospitality.Kind.GIFT,
        "Branded pen set",
        "Acme Care Ltd",
        True,
        Decimal("5.50"),
        dt.date(2016, 9, 2),
        True,
    ),
    (
        "board.bolton",
        GiftHospitality.Kind.GIFT,
        "Bottle of wine",
        "A home care supplier",
        True,
        Decimal("12.00"),
        dt.date(2016, 12, 19),
        False,
    ),
]


def _paper(title: str, text: str, pages: int) -> SimpleUploadedFile:
    from weasyprint import HTML

    breaker = '<div class="break"></div>'
    body = breaker.join(
        f"<section><h1>{title}</h1><p>{text}</p><p>Page {n + 1} of the paper.</p></section>"
        for n in range(pages)
    )
    css = "<style>.break { page-break-after: always; }</style>"
    data = HTML(string=f"<html><head>{css}</head><body>{body}</body></html>").write_pdf()
    return SimpleUploadedFile(f"{title[:40]}.pdf", data, content_type="application/pdf")


def _chair(board: Board) -> Any:
    seat = (
        board.memberships.filter(role__in=["chair", "vice_chair", "officer"])
        .select_related("person")
        .first()
    )
    return seat.person if seat else User.objects.filter(username="admin").first()


def seed() -> Iterator[str]:
    boards = {b.code: b for b in Board.objects.filter(code__in=MEETINGS)}
    if not boards:
        yield "board meetings: no boards seeded"
        return
    admin = User.objects.filter(username="admin").first()
    users = {u.username: u for u in User.objects.filter(username__startswith="board.")}
    orgs = {o.code: o for o in Organisation.objects.all()}
    with transaction.atomic():
        made_interests = _seed_interests(admin, users, orgs)
        made_gifts = _seed_gifts(users)
    yield f"declared interests: {made_interests} new, gifts and hospitality: {made_gifts} new"
    rng = random.Random(SEED)
    created = 0
    for code, meetings in MEETINGS.items():
        board = boards.get(code)
        if board is None:
            continue
        actor = admin if admin is not None else _chair(board)
        for title, day in meetings:
            starts_at = timezone.make_aware(dt.datetime.combine(day, dt.time(14, 0)))
            if Meeting.objects.filter(board=board, starts_at=starts_at).exists():
                continue
            with transaction.atomic():
                _seed_meeting(board, title, starts_at, actor, orgs, users, rng)
            created += 1
    yield f"board meetings: {created} new, {Meeting.objects.count()} in all"
    yield _seed_pack(boards.get("JCB"), admin)


def _seed_pack(board: Board | None, admin: Any) -> str:
    """Ask for version 1 of the pack for the JCB's next (still planned) meeting, once. It is built
    after the server starts (fill_in), like a pack a board officer asks for."""
    meeting = (
        Meeting.objects.filter(board=board, status=Meeting.Status.PLANNED)
        .order_by("starts_at")
        .first()
        if board is not None
        else None
    )
    if meeting is None or admin is None:
        return "board packs: none to build"
    if meeting.packs.exists():
        return f"board packs: {BoardPack.objects.count()} already asked for"
    BoardPack.objects.create(meeting=meeting, version=1, requested_by=admin)
    return f"board packs: {meeting} v1 to build after the server starts (seed_demo --fill-in)"


def fill_in() -> Iterator[str]:
    """Enqueue the build of every demo pack not built yet (by task name, for whatever runs
    background tasks)."""
    waiting = list(
        BoardPack.objects.filter(status=BoardPack.Status.QUEUED).values_list("pk", flat=True)
    )
    for pk in waiting:
        enqueue_on_commit("boards.tasks.build_pack", pk)
    return iter([f"board packs: {len(waiting)} queued"])


def _seed_interests(admin: Any, users: dict[str, Any], orgs: dict[str, Any]) -> int:
    made = 0
    for username, kind, description, relationship, org_code, start, end, mitigation in INTERESTS:
        person = users.get(username)
        if (
            person is None
            or Interest.objects.filter(person=person, description=description).exists()
        ):
            continue
        org = orgs.get(org_code)
        services.interest_declare(
            actor=admin or person,
            person=person,
            kind=kind,
            description=description,
            relationship=relationship,
            related_organisation=org,
            related_organisation_name="" if org else org_code,
            valid_from=start,
            valid_to=end,
            mitigation=mitigation,
        )
        made += 1
    return made


def _seed_gifts(users: dict[str, Any]) -> int:
    made = 0
    for username, kind, description, offered_by, supplier, value, day, accepted in GIFTS:
        person = users.get(username)
        if (
            person is None
            or GiftHospitality.objects.filter(person=person, description=description).exists()
        ):
            continue
        services.gift_record(
            actor=person,
            person=person,
            kind=kind,
            description=description,
            offered_by=offered_by,
            value=value,
            offered_on=day,
            from_supplier=supplier,
            accepted=accepted,
        )
        made += 1
    return made


def _seed_meeting(
    board: Board,
    title: str,
    starts_at: dt.datetime,
    actor: Actor,
    orgs: dict[str, Any],
    users: dict[str, Any],
    rng: random.Random,
) -> Meeting:
    meeting = services.meeting_create(
        actor=actor,
        board=board,
        title=title,
        starts_at=starts_at,
        location="Piccadilly Place, Manchester",
    )
    add = services.agenda_item_add
    add(
        actor=actor,
        meeting=meeting,
        title="Welcome, apologies and declarations of interest",
        purpose="information",
        presenter="Chair",
    )
    add(
        actor=actor,
        meeting=meeting,
        title="Minutes of the last meeting and action log",
        purpose="decision",
        presenter="Chair",
    )
    month = starts_at.strftime("%B %Y")
    add(
        actor=actor,
        meeting=meeting,
        title=f"Finance report, {month}",
        purpose="assurance",
        presenter="Chief Finance Officer",
        paper=_paper(
            f"Finance report, {month}", f"Pooled budget position for the {board.name}.", 2
        ),
    )
    decision_items: list[tuple[AgendaItem, Decimal | None, str]] = []
    for item_title, purpose, presenter, private, codes, amount in BUSINESS[board.code]:
        paper = _paper(item_title, f"Paper to the {board.name}, {month}.", 1 + rng.randint(0, 2))
        item = add(
            actor=actor,
            meeting=meeting,
            title=item_title,
            purpose=purpose,
            presenter=presenter,
            is_private=private,
            paper=paper,
            organisations=[orgs[c] for c in codes if c in orgs],
        )
        if purpose == "decision":
            decision_items.append((item, amount, item_title))
    add(
        actor=actor,
        meeting=meeting,
        title="Any other business",
        purpose="discussion",
        presenter="Chair",
    )
    if starts_at.date() > dt.date(2017, 3, 1):
        return meeting  # the year's last meeting is still being planned
    services.meeting_transition(actor=actor, meeting=meeting, to=Meeting.Status.PAPERS_PUBLISHED)
    services.meeting_transition(actor=actor, meeting=meeting, to=Meeting.Status.HELD)
    for item, amount, item_title in decision_items:
        services.decision_record(
            actor=actor,
            meeting=meeting,
            item=item,
            text=f"{item_title}: recommendation approved.",
            outcome=Decision.Outcome.APPROVED,
            amount=amount,
            funds=list(board.funds.all()[:1]),
            conflicts_declared="As recorded in the declarations for this item."
            if item.organisations.exists()
            else "",
            conflicts_handling="Conflicted members left the room and took no part."
            if item.organisations.exists()
            else "",
        )
    for conflict in _conflicts(meeting):
        services.declaration_record(
            actor=actor,
            meeting=meeting,
            person=conflict.person,
            item=conflict.item,
            interest=conflict.interest,
            description=conflict.interest.description,
            action_taken="left_room",
        )
    members = list(board.memberships.select_related("person").order_by("person__username"))
    for n in range(2):
        owner = members[rng.randrange(len(members))].person
        action = services.action_create(
            actor=actor,
            meeting=meeting,
            owner=owner,
            description=[
                "Bring a recovery plan for red lines",
                "Report on the provider's activity trends",
                "Confirm the risk-share position with partners",
                "Update the locality plan milestones",
            ][rng.randrange(4)],
            due_date=starts_at.date() + dt.timedelta(days=28 + 14 * n),
        )
        if rng.random() < 0.5:
            services.action_update(
                actor=actor,
                action=action,
                status=ActionItem.Status.DONE,
                update_note="Reported at the next meeting.",
            )
            done_on = dt.datetime.combine(action.due_date - dt.timedelta(days=3), dt.time(9))
            ActionItem.objects.filter(pk=action.pk).update(
                completed_at=timezone.make_aware(done_on)
            )
    services.meeting_minutes_set(
        actor=actor,
        meeting=meeting,
        minutes=(
            f"The {board.name} met on {starts_at:%-d %B %Y}. The chair asked for declarations of "
            "interest; those made are recorded against the items. The board received the finance "
            "report and took the decisions recorded in the decision register."
        ),
    )
    services.meeting_transition(actor=actor, meeting=meeting, to=Meeting.Status.MINUTES_APPROVED)
    return meeting


def _conflicts(meeting: Meeting) -> list[Any]:
    return possible_conflicts(meeting)
