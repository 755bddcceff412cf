"""Board pack builder: one PDF per meeting version, papers merged in, one page numbering throughout.

Steps: freeze the dashboard figures, render the front matter (cover, contents, agenda, finance
dashboard, decisions sought, possible conflicts and the register, previous minutes, action log)
with WeasyPrint, append the uploaded papers (pypdf), then stamp "Page n of m" on every page by
rendering a numbering PDF of m pages with WeasyPrint and merging page n onto page n.

Two files per version: the full pack (voting members and officers) and a public pack without
private (part B) items for everyone else on the board.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.files.base import ContentFile
from django.template.loader import render_to_string
from django.utils import timezone
from pypdf import PdfReader, PdfWriter
from weasyprint import HTML

from boards import charts, selectors
from boards.dashboard import Dashboard, build_dashboard
from boards.models import AgendaItem, BoardPack, Meeting
from gmhsc.memory import fewer_collections

logger = logging.getLogger(__name__)
# WeasyPrint logs every layout step at INFO; a pack of 100 pages would flood the worker's log.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

Progress = Callable[[int, str], None]


@dataclass
class PaperEntry:
    item: AgendaItem
    start_page: int
    pages: int


def chart_data_uris(dash: Dashboard) -> dict[str, str]:
    return {
        name.replace("-", "_"): charts.data_uri(charts.chart_svg(name, dash))
        for name in charts.CHART_NAMES
    }


def _render_front(context: dict[str, Any]) -> bytes:
    html = render_to_string("boards/pack/pack.html", context)
    with fewer_collections():
        return HTML(string=html).write_pdf()


def numbering_pdf(sizes: list[tuple[float, float]]) -> bytes:
    """One page per entry of `sizes` (width, height in points), each stamped "Page n of m" at
    the bottom right, so papers in other page sizes are numbered in the same place."""
    kinds: dict[tuple[float, float], str] = {}
    for size in sizes:
        kinds.setdefault(size, f"s{len(kinds)}")
    html = render_to_string(
        "boards/pack/numbering.html",
        {
            "page_kinds": [(name, w, h) for (w, h), name in kinds.items()],
            "pages": [kinds[size] for size in sizes],
        },
    )
    return HTML(string=html).write_pdf()


def assemble(front: bytes, papers: list[bytes]) -> tuple[bytes, int]:
    """Front matter + papers, stamped "Page n of m". Returns (pdf bytes, m)."""
    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(front)))
    for paper in papers:
        writer.append(PdfReader(io.BytesIO(paper)))
    total = len(writer.pages)
    sizes = [
        (round(float(page.mediabox.width), 2), round(float(page.mediabox.height), 2))
        for page in writer.pages
    ]
    overlay = PdfReader(io.BytesIO(numbering_pdf(sizes)))
    for n, page in enumerate(writer.pages):
        stamp = overlay.pages[n]
        left, bottom = float(page.mediabox.left), float(page.mediabox.bottom)
        if left or bottom:
            from pypdf import Transformation

            page.merge_transformed_page(stamp, Transformation().translate(left, bottom))
        else:
            page.merge_page(stamp)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue(), total


def render_pack(
    meeting: Meeting,
    pack: BoardPack,
    dash: Dashboard,
    *,
    include_private: bool,
    progress: Progress | None = None,
    front_pages_guess: int = 0,
) -> tuple[bytes, int, dict[str, int]]:
    """Render one pack; returns (pdf, page count, {agenda item id: first page of its paper})."""
    items = list(meeting.items.prefetch_related("organisations").order_by("order"))
    if not include_private:
        items = [i for i in items if not i.is_private]
    papers: list[tuple[AgendaItem, bytes]] = []
    for item in items:
        if item.paper:
            with item.paper.open("rb") as handle:
                papers.append((item, handle.read()))
    item_qs = meeting.items.all() if include_private else meeting.items.filter(is_private=False)
    previous = selectors.previous_meeting(meeting)
    today = timezone.localdate()
    actions = selectors.actions_for_meeting(meeting)
    context: dict[str, Any] = {
        "meeting": meeting,
        "board": meeting.board,
        "pack": pack,
        "items": items,
        "include_private": include_private,
        "dash": dash,
        "charts": chart_data_uris(dash),
        "sought": selectors.decisions_sought(meeting),
        "conflicts": selectors.possible_conflicts(meeting, item_qs),
        "register": list(
            selectors.interest_register(None, meeting.board, day=meeting.date).filter(
                consent_to_publish=True
            )
        ),
        "previous": previous,
        "actions": [(a, a.is_overdue(today)) for a in actions],
        "built_at": timezone.localtime(),
    }
    # Contents list page numbers of the papers: render once to learn the front matter's length,
    # then again with the real numbers (the contents has the same length either way).
    front_pages = front_pages_guess
    front = b""
    for _ in range(3):
        start = front_pages + 1
        entries = []
        for item, data in papers:
            count = len(PdfReader(io.BytesIO(data)).pages)
            entries.append(PaperEntry(item=item, start_page=start, pages=count))
            start += count
        context["papers"] = entries
        front = _render_front(context)
        pages = len(PdfReader(io.BytesIO(front)).pages)
        if pages == front_pages:
            break
        front_pages = pages
    if progress:
        progress(70 if include_private else 90, "Merging the papers and numbering the pages")
    pdf, total = assemble(front, [data for _, data in papers])
    return pdf, total, {str(entry.item.pk): entry.start_page for entry in context["papers"]}


def build(pack_id: int) -> BoardPack:
    pack = BoardPack.objects.select_related("meeting__board", "requested_by").get(pk=pack_id)
    if pack.status == BoardPack.Status.READY:
        return pack

    def progress(percent: int, stage: str) -> None:
        BoardPack.objects.filter(pk=pack_id).update(progress=percent, stage=stage)

    BoardPack.objects.filter(pk=pack_id).update(
        status=BoardPack.Status.BUILDING, progress=5, stage="Freezing the finance figures", error=""
    )
    meeting = pack.meeting
    try:
        # The figures as the board sees them on the meeting's day (its reporting context).
        dash = build_dashboard(
            meeting.board, since=selectors.previous_meeting(meeting), on=meeting.date
        )
        pack.snapshot = dash.to_json()
        pack.figures_as_at = dash.as_at
        progress(20, "Rendering the agenda, finance dashboard and registers")
        full, full_pages, full_starts = render_pack(
            meeting, pack, dash, include_private=True, progress=progress
        )
        has_private = meeting.items.filter(is_private=True).exists()
        if has_private:
            progress(75, "Rendering the public pack without private items")
            full_front = min(full_starts.values()) - 1 if full_starts else full_pages
            public, public_pages, public_starts = render_pack(
                meeting,
                pack,
                dash,
                include_private=False,
                progress=progress,
                front_pages_guess=full_front,
            )
        else:
            public, public_pages, public_starts = full, full_pages, full_starts
        progress(95, "Saving")
        pack.snapshot["paper_pages"] = {"full": full_starts, "public": public_starts}
        name = f"{meeting.board.code}-{meeting.date:%Y-%m-%d}-v{pack.version}"
        pack.file.save(f"{name}.pdf", ContentFile(full), save=False)
        pack.public_file.save(f"{name}-public.pdf", ContentFile(public), save=False)
        pack.pages, pack.public_pages = full_pages, public_pages
        pack.status = BoardPack.Status.READY
        pack.progress = 100
        pack.stage = "Ready"
        pack.finished_at = timezone.now()
        pack.save()
    except Exception as exc:
        logger.exception("board pack %s failed", pack_id)
        BoardPack.objects.filter(pk=pack_id).update(
            status=BoardPack.Status.FAILED, stage="Failed", error=str(exc)[:2000]
        )
        pack.refresh_from_db()
    return pack
