"""Board pages: thin views over selectors and services. Invisible objects answer 404."""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from csp.decorators import csp_replace
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db import connection
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.views.decorators.http import require_GET, require_POST

from boards import charts, rules, selectors, services
from boards.dashboard import Dashboard, build_dashboard
from boards.forms import (
    ActionForm,
    ActionUpdateForm,
    AgendaItemForm,
    DecisionForm,
    DeclarationForm,
    GiftForm,
    InterestForm,
    MeetingForm,
    MinutesForm,
    PackForm,
)
from boards.models import ActionItem, Board, BoardPack, Meeting
from budgets.models import (
    Contribution,
    ContributionReceipt,
    FundPosition,
    SavingsDelivery,
    SavingsScheme,
    StaleMark,
)
from gmhsc.errors import ApplicationError, NotFound
from localities.actors import actor_of


def _attempt(request: HttpRequest, action: Callable[[], Any], success: str) -> Any:
    """Run a service call; show its message as an error, turn NotFound into 404."""
    try:
        result = action()
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return None
    messages.success(request, success)
    return result


def _form_errors(request: HttpRequest, form: Any) -> None:
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        for error in errors:
            messages.error(request, f"{label or field}: {error}" if field != "__all__" else error)


@login_required
def board_list(request: HttpRequest) -> HttpResponse:
    boards = selectors.boards_visible_to(request.user).order_by("kind", "name")
    return render(request, "boards/board_list.html", {"boards": boards})


@login_required
def board_detail(request: HttpRequest, pk: int) -> HttpResponse:
    board = selectors.get_board(request.user, pk)
    return render(
        request, "boards/board_detail.html", _board_context(request, board, MeetingForm())
    )


def _board_context(request: HttpRequest, board: Any, form: MeetingForm) -> dict[str, Any]:
    return {
        "board": board,
        "meetings": selectors.meetings_visible_to(request.user, board).order_by("-starts_at"),
        "funds": board.funds.order_by("code"),
        "can_manage": rules.can_manage_board(request.user, board),
        "form": form,
        "members": board.memberships.select_related("person", "organisation"),
    }


@login_required
@require_POST
def meeting_create(request: HttpRequest, pk: int) -> HttpResponse:
    board = selectors.get_board(request.user, pk)
    form = MeetingForm(request.POST)
    if not form.is_valid():
        return render(request, "boards/board_detail.html", _board_context(request, board, form))
    data = form.cleaned_data
    meeting = _attempt(
        request,
        lambda: services.meeting_create(
            actor=actor_of(request),
            board=board,
            title=data["title"],
            starts_at=data["starts_at"],
            location=data["location"],
        ),
        "Meeting planned.",
    )
    if meeting is None:
        return redirect("boards:board-detail", pk=board.pk)
    return redirect("boards:meeting-detail", pk=meeting.pk)


def _meeting_context(request: HttpRequest, meeting: Meeting, **forms: Any) -> dict[str, Any]:
    user = request.user
    board = meeting.board
    can_manage = rules.can_manage_board(user, board)
    items = selectors.items_visible_to(user, meeting)
    today = timezone.localdate()
    actions = selectors.actions_for_meeting(meeting)
    can_private = rules.can_view_private(user, board)
    latest = meeting.packs.filter(status=BoardPack.Status.READY).order_by("-version").first()
    starts = (latest.snapshot.get("paper_pages", {}) if latest else {}).get(
        "full" if can_private else "public", {}
    )
    return {
        "meeting": meeting,
        "board": board,
        "items": items,
        "agenda": [(item, starts.get(str(item.pk))) for item in items],
        "latest_pack": latest,
        "can_manage": can_manage,
        "can_view_private": can_private,
        "conflicts": selectors.possible_conflicts(meeting, items) if can_manage else [],
        "declarations": meeting.declarations.select_related("person", "item").filter(item__in=items)
        | meeting.declarations.select_related("person", "item").filter(item__isnull=True),
        "decisions": selectors.decisions_visible_to(user, board).filter(meeting=meeting),
        "actions": [(a, a.is_overdue(today)) for a in actions],
        "packs": meeting.packs.order_by("-version"),
        "next_statuses": [
            Meeting.Status(s) for s in Meeting.TRANSITIONS[Meeting.Status(meeting.status)]
        ],
        "item_form": AgendaItemForm(),
        "minutes_form": MinutesForm(initial={"minutes": meeting.minutes}),
        "decision_form": DecisionForm(meeting=meeting),
        "action_form": ActionForm(meeting=meeting),
        "declaration_form": DeclarationForm(meeting=meeting),
        "pack_form": PackForm(),
        "previous": selectors.previous_meeting(meeting),
        "sought": selectors.decisions_sought(meeting) if can_manage else None,
        **forms,
    }


def _meeting_form_invalid(request: HttpRequest, meeting: Meeting, name: str, form: Any) -> Any:
    """The meeting page again with the form's problems beside its fields and in its summary."""
    return render(
        request, "boards/meeting_detail.html", _meeting_context(request, meeting, **{name: form})
    )


def _meeting_form_post(
    request: HttpRequest,
    meeting: Meeting,
    name: str,
    form: Any,
    save: Callable[[dict[str, Any]], Any],
    success: str,
) -> HttpResponse:
    """A form of the meeting page posted: its problems on the page again, else `save` the
    cleaned data (the service's refusal shown as a message) and back to the meeting."""
    if not form.is_valid():
        return _meeting_form_invalid(request, meeting, name, form)
    _attempt(request, lambda: save(form.cleaned_data), success)
    return redirect("boards:meeting-detail", pk=meeting.pk)


@login_required
def meeting_detail(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = selectors.get_meeting(request.user, pk)
    return render(request, "boards/meeting_detail.html", _meeting_context(request, meeting))


@login_required
@require_POST
def meeting_transition(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = selectors.get_meeting(request.user, pk)
    to = request.POST.get("to", "")
    if to not in Meeting.Status.values:
        raise Http404("Unknown status.")
    _attempt(
        request,
        lambda: services.meeting_transition(actor=actor_of(request), meeting=meeting, to=to),
        f"The meeting is now {Meeting.Status(to).label.lower()}.",
    )
    return redirect("boards:meeting-detail", pk=meeting.pk)


@login_required
@require_POST
def meeting_minutes(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = selectors.get_meeting(request.user, pk)
    form = MinutesForm(request.POST)
    if form.is_valid():
        _attempt(
            request,
            lambda: services.meeting_minutes_set(
                actor=actor_of(request), meeting=meeting, minutes=form.cleaned_data["minutes"]
            ),
            "Minutes saved.",
        )
    return redirect("boards:meeting-detail", pk=meeting.pk)


@login_required
@require_POST
def item_add(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = selectors.get_meeting(request.user, pk)
    return _meeting_form_post(
        request,
        meeting,
        "item_form",
        AgendaItemForm(request.POST, request.FILES),
        lambda data: services.agenda_item_add(
            actor=actor_of(request),
            meeting=meeting,
            title=data["title"],
            purpose=data["purpose"],
            presenter=data["presenter"],
            is_private=data["is_private"],
            paper=data["paper"],
            organisations=data["organisations"],
        ),
        "Agenda item added.",
    )


@login_required
@require_GET
def item_paper(request: HttpRequest, pk: int) -> FileResponse:
    item = selectors.get_item(request.user, pk)
    if not item.paper:
        raise Http404("No paper.")
    return FileResponse(
        item.paper.open("rb"),
        content_type="application/pdf",
        as_attachment=False,
        filename=item.paper_name or f"item-{item.order}.pdf",
    )


@login_required
@require_POST
def decision_add(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = selectors.get_meeting(request.user, pk)
    form = DecisionForm(request.POST, meeting=meeting)
    return _meeting_form_post(
        request,
        meeting,
        "decision_form",
        form,
        lambda data: services.decision_record(
            actor=actor_of(request),
            meeting=meeting,
            text=data["text"],
            outcome=data["outcome"],
            item=data["item"],
            amount=data["amount"],
            virement=data["virement"],
            contract_decision=form.awards.get(data["contract_decision"])
            if data["contract_decision"]
            else None,
            funds=list(meeting.board.funds.all()) if data["amount"] else [],
            conflicts_declared=data["conflicts_declared"],
            conflicts_handling=data["conflicts_handling"],
        ),
        "Decision recorded.",
    )


@login_required
@require_POST
def declaration_add(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = selectors.get_meeting(request.user, pk)
    return _meeting_form_post(
        request,
        meeting,
        "declaration_form",
        DeclarationForm(request.POST, meeting=meeting),
        lambda data: services.declaration_record(actor=actor_of(request), meeting=meeting, **data),
        "Declaration recorded.",
    )


@login_required
@require_POST
def action_add(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = selectors.get_meeting(request.user, pk)
    return _meeting_form_post(
        request,
        meeting,
        "action_form",
        ActionForm(request.POST, meeting=meeting),
        lambda data: services.action_create(actor=actor_of(request), meeting=meeting, **data),
        "Action added.",
    )


@login_required
@require_POST
def action_update(request: HttpRequest, pk: int) -> HttpResponse:
    action = get_object_or_404(ActionItem.objects.select_related("meeting__board"), pk=pk)
    if not rules.can_view_board(request.user, action.meeting.board):
        raise Http404("Action not found.")
    form = ActionUpdateForm(request.POST)
    if form.is_valid():
        _attempt(
            request,
            lambda: services.action_update(
                actor=actor_of(request), action=action, **form.cleaned_data
            ),
            "Action updated.",
        )
    back = request.POST.get("meeting") or action.meeting_id
    meeting = selectors.get_meeting(request.user, int(back))
    return redirect("boards:meeting-detail", pk=meeting.pk)


# ---- packs ---------------------------------------------------------------------------------------


@login_required
@require_POST
def pack_build(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = selectors.get_meeting(request.user, pk)
    form = PackForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("boards:meeting-detail", pk=meeting.pk)
    note = form.cleaned_data.get("change_note", "")
    _attempt(
        request,
        lambda: services.pack_request(actor=actor_of(request), meeting=meeting, change_note=note),
        "The board pack is being built.",
    )
    return redirect("boards:meeting-detail", pk=meeting.pk)


def _get_pack(request: HttpRequest, pk: int) -> BoardPack:
    pack = BoardPack.objects.select_related("meeting__board").filter(pk=pk).first()
    if pack is None or not rules.can_view_board(request.user, pack.meeting.board):
        raise Http404("Pack not found.")
    return pack


@login_required
@require_GET
def pack_status(request: HttpRequest, pk: int) -> HttpResponse:
    pack = _get_pack(request, pk)
    return render(request, "boards/includes/pack_status.html", {"pack": pack})


@login_required
@require_GET
def pack_download(request: HttpRequest, pk: int) -> FileResponse:
    pack = _get_pack(request, pk)
    if pack.status != BoardPack.Status.READY:
        raise Http404("The pack is not ready.")
    full = rules.can_view_private(request.user, pack.meeting.board)
    field = pack.file if full else pack.public_file
    if not field or not field.storage.exists(field.name):
        # A pack marked ready whose file has gone (storage restored from an older backup, or a
        # record made by hand) is not a server error: the clerk rebuilds it.
        raise Http404("The pack file is missing; ask the board's clerk to build it again.")
    meeting = pack.meeting
    suffix = "" if full else "-public"
    return FileResponse(
        field.open("rb"),
        content_type="application/pdf",
        as_attachment=True,
        filename=f"{meeting.board.code}-{meeting.date:%Y-%m-%d}-pack-v{pack.version}{suffix}.pdf",
    )


@login_required
@require_POST
def pack_publish(request: HttpRequest, pk: int) -> HttpResponse:
    pack = _get_pack(request, pk)
    _attempt(
        request,
        lambda: services.pack_publish(actor=actor_of(request), pack=pack),
        "Pack published; members have been emailed.",
    )
    return redirect("boards:meeting-detail", pk=pack.meeting_id)


# ---- dashboard -----------------------------------------------------------------------------------

# The cache key changes whenever the figures do (the latest snapshot time of the board's funds, and
# which funds those are) and at each new meeting, so the lifetime only bounds memory. (At 30 s, every
# expiry made all 20 concurrent users of the benchmark wait for one rebuild: p95 over a second.)
DASHBOARD_CACHE_SECONDS = 600


@dataclass(frozen=True)
class DashboardChoice:
    """The year and month a dashboard request asks for (`year`, `period` codes; empty: each fund's
    default reporting context) and the day it is judged on."""

    on: dt.date
    year: str = ""
    period: str = ""

    @classmethod
    def of(cls, query: Any) -> DashboardChoice:
        return cls(
            on=timezone.localdate(),
            year=(query.get("year") or "").strip()[:7],
            period=(query.get("period") or "").strip()[:11],
        )

    @property
    def query(self) -> str:
        return urlencode({k: v for k, v in (("year", self.year), ("period", self.period)) if v})


def dashboard_for(
    board: Any,
    since: Any = None,
    key: str | None = None,
    choice: DashboardChoice | None = None,
) -> Dashboard:
    """The live dashboard, cached per board, snapshot time and reporting choice (figures only
    change when the recompute engine writes new snapshots, or the day moves the context on).
    `since`: the previous meeting (looked up if None); `key`: the caller's _dash_key for it, so
    the stamp is not queried again."""
    if since is None:
        since = selectors.previous_meeting_before(board, timezone.now())
    choice = choice or DashboardChoice(on=timezone.localdate())
    key = key or _dash_key(board, since, choice)
    cached = cache.get(key)
    if cached is not None:
        return Dashboard.from_json(cached)
    # One request builds while the others wait briefly for it (no stampede on a cold cache).
    lock = f"{key}:building"
    if not cache.add(lock, 1, 10):
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            time.sleep(0.05)
            cached = cache.get(key)
            if cached is not None:
                return Dashboard.from_json(cached)
    try:
        dash = build_dashboard(
            board,
            since=since,
            on=choice.on,
            year=choice.year or None,
            period=choice.period or None,
        )
        cache.set(key, dash.to_json(), DASHBOARD_CACHE_SECONDS)
    finally:
        cache.delete(lock)
    return dash


def _dash_key(board: Any, since: Any, choice: DashboardChoice) -> str:
    chosen = hashlib.sha256(f"{choice.year}|{choice.period}".encode()).hexdigest()[:16]
    return (
        f"boards:dash:{board.pk}:{since.pk if since else 0}:{choice.on.isoformat()}:{chosen}:"
        f"{_snapshot_stamp(board)}"
    )


def _snapshot_stamp(board: Any) -> str:
    """When the board's funds' figures were last computed, which funds have figures, and how many
    changes wait for the recompute: one plain SQL statement, asked on every dashboard request."""
    position, stale = FundPosition._meta.db_table, StaleMark._meta.db_table
    receipt, contribution = ContributionReceipt._meta.db_table, Contribution._meta.db_table
    scheme, delivery = SavingsScheme._meta.db_table, SavingsDelivery._meta.db_table
    link = Board.funds.field
    sql = f"""
        WITH board_funds AS (
          SELECT {link.m2m_reverse_name()} AS id FROM {link.m2m_db_table()}
          WHERE {link.m2m_column_name()} = %s
        )
        SELECT MAX(computed_at), COUNT(DISTINCT fund_id), SUM(DISTINCT fund_id),
          (SELECT COUNT(*) FROM {stale} WHERE fund_id IN (SELECT id FROM board_funds)),
          (SELECT MAX(r.recorded_at) FROM {receipt} r JOIN {contribution} c
            ON c.id = r.contribution_id WHERE c.fund_id IN (SELECT id FROM board_funds)),
          (SELECT MAX(updated_at) FROM {scheme} WHERE fund_id IN (SELECT id FROM board_funds)),
          (SELECT MAX(d.recorded_at) FROM {delivery} d JOIN {scheme} s ON s.id = d.scheme_id
            WHERE s.fund_id IN (SELECT id FROM board_funds))
        FROM {position} WHERE fund_id IN (SELECT id FROM board_funds)
    """  # noqa: S608 (table and column names from the models; the board is a parameter)
    with connection.cursor() as cursor:
        cursor.execute(sql, [board.pk])
        latest, funds, ids, pending, *cycle = cursor.fetchone()
    if latest is None:
        return "none"
    # Receipts, savings and the day (instalments fall overdue by date) show on the dashboard too.
    funds = f"{funds}:{':'.join(str(c) for c in cycle)}:{timezone.localdate()}"
    # Changes still waiting for the recompute are part of what the dashboard shows ("Recalculating:
    # N changes pending"), so a new one gives a new key too: never a silently stale figure.
    # (SQLite gives the MAX of a datetime column back as text.)
    when = latest.isoformat() if hasattr(latest, "isoformat") else str(latest).replace(" ", "T")
    return f"{when}:{funds}:{ids}:{pending}"


def _chart_svgs(
    board: Any, since: Any, base: str, choice: DashboardChoice, dash: Dashboard | None = None
) -> dict[str, bytes]:
    """The four chart SVGs, from the cache under the dashboard's key `base` (one round trip); any
    missing one is drawn from `dash` (built if not given)."""
    keys = {name: f"{base}:chart:{name}" for name in charts.CHART_NAMES}
    found = cache.get_many(list(keys.values()))
    svgs = {}
    for name, key in keys.items():
        svg = found.get(key)
        if svg is None:
            dash = dash or dashboard_for(board, since, base, choice)
            svg = charts.chart_svg(name, dash)
            cache.set(key, svg, DASHBOARD_CACHE_SECONDS)
        svgs[name] = svg
    return svgs


@login_required
def dashboard(request: HttpRequest, pk: int) -> HttpResponse:
    """The charts travel inside the page as data: URIs in <img> (an image never runs script), so
    a dashboard is one request, not five; each chart also has its own URL for download.

    Everything below the heading is the same for every member who may see the board, so it is
    cached as one rendered fragment under the dashboard's key; the figures and charts are only
    built (lazily) when that fragment is not in the cache.
    """
    board = selectors.get_board(request.user, pk)
    since = selectors.previous_meeting_before(board, timezone.now())
    choice = DashboardChoice.of(request.GET)
    key = _dash_key(board, since, choice)

    def dash() -> Dashboard:
        return dashboard_for(board, since, key, choice)

    def srcs() -> dict[str, str]:
        return {
            name: charts.data_uri(svg)
            for name, svg in _chart_svgs(board, since, key, choice, lazy_dash).items()
        }

    lazy_dash: Any = SimpleLazyObject(dash)
    lazy_srcs: Any = SimpleLazyObject(srcs)
    return render(
        request,
        "boards/dashboard.html",
        {
            "board": board,
            "dash_key": key,
            "dash_seconds": DASHBOARD_CACHE_SECONDS,
            "dash": lazy_dash,
            "choice": choice,
            "switcher": SimpleLazyObject(lambda: selectors.board_context_choices(board, choice)),
            "chart_names": SimpleLazyObject(
                lambda: [
                    (
                        "service-area",
                        "Forecast variance by service area",
                        lazy_dash.by_service_area,
                        lazy_srcs["service-area"],
                    ),
                    (
                        "locality",
                        "Forecast variance by locality",
                        lazy_dash.by_locality,
                        lazy_srcs["locality"],
                    ),
                    (
                        "risk-share",
                        "Partners' share of the forecast variance",
                        lazy_dash.risk_share,
                        lazy_srcs["risk-share"],
                    ),
                ]
            ),
            "trend_src": SimpleLazyObject(lambda: lazy_srcs["trend"]),
        },
    )


@login_required
@require_GET
@csp_replace({"default-src": ["'none'"], "style-src": ["'unsafe-inline'"], "img-src": ["'none'"]})  # type: ignore[arg-type]
def chart(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    """A dashboard chart as SVG on its own (to download or print). Images never run script; the
    SVG's own (pygal) styles are allowed for this response only."""
    board = selectors.get_board(request.user, pk)
    if name not in charts.CHART_NAMES:
        raise Http404("No such chart.")
    since = selectors.previous_meeting_before(board, timezone.now())
    choice = DashboardChoice.of(request.GET)
    svg = _chart_svgs(board, since, _dash_key(board, since, choice), choice)[name]
    response = HttpResponse(svg, content_type="image/svg+xml")
    response["Cache-Control"] = "private, max-age=60"
    return response


# ---- registers -----------------------------------------------------------------------------------


@login_required
def decision_register(request: HttpRequest, pk: int) -> HttpResponse:
    board = selectors.get_board(request.user, pk)
    decisions = selectors.decisions_visible_to(request.user, board)
    return render(
        request, "boards/decision_register.html", {"board": board, "decisions": decisions}
    )


@login_required
def interest_register(request: HttpRequest, pk: int) -> HttpResponse:
    board = selectors.get_board(request.user, pk)
    return render(
        request,
        "boards/interest_register.html",
        {
            "board": board,
            "interests": selectors.interest_register(request.user, board),
            "gifts": selectors.gifts_register(request.user, board),
        },
    )


@login_required
def interest_declare(request: HttpRequest) -> HttpResponse:
    form = InterestForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        result = _attempt(
            request,
            lambda: services.interest_declare(
                actor=actor_of(request), person=request.user, **form.cleaned_data
            ),
            "Interest declared.",
        )
        if result is not None:
            return redirect("boards:my-interests")
    mine = request.user.interests.select_related("related_organisation").order_by("-valid_from")  # type: ignore[union-attr]
    return render(request, "boards/my_interests.html", {"form": form, "interests": mine})


@login_required
def gift_declare(request: HttpRequest) -> HttpResponse:
    form = GiftForm(request.POST if request.method == "POST" else None)
    classification = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if "check" in request.POST:
            classification = services.classify_offer(
                kind=data["kind"], value=data["value"], from_supplier=data["from_supplier"]
            )
        else:
            result = _attempt(
                request,
                lambda: services.gift_record(actor=actor_of(request), person=request.user, **data),
                "Offer recorded.",
            )
            if result is not None:
                return redirect("boards:my-gifts")
    mine = request.user.gifts_hospitality.order_by("-offered_on")  # type: ignore[union-attr]
    return render(
        request,
        "boards/my_gifts.html",
        {"form": form, "classification": classification, "gifts": mine},
    )
