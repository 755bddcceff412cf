"""Reading paper: a PDF's text (pypdf), and the boxes WeasyPrint laid out that do not fit their page."""

from __future__ import annotations

import io
import re

from pypdf import PdfReader

# A figure cut short at a column edge: "£2,030,200.0", or a pound sign followed by pence at all.
CUT_OR_PENCE = re.compile(r"£[\d,]+\.\d")


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def boxes_wider_than_the_page(html: str, *, tolerance: float = 0.5) -> list[str]:
    """Every laid-out box whose right edge passes its page's right edge, and every piece of text
    that runs past the table cell holding it (a figure a fixed layout would cut), in CSS px.
    WeasyPrint keeps the layout of each page after `render()`."""
    from weasyprint import HTML
    from weasyprint.formatting_structure import boxes

    document = HTML(string=html).render()
    problems: list[str] = []

    def walk(box: object, number: int, page_right: float, cell: object | None) -> None:
        right = box.position_x + box.margin_width()  # type: ignore[attr-defined]
        text = getattr(box, "text", None)
        if right > page_right + tolerance:
            problems.append(
                f"page {number}: {type(box).__name__} {text!r} ends at {right:.0f} > {page_right:.0f}"
            )
        if isinstance(box, boxes.TableCellBox):
            cell = box
        if text and cell is not None:
            cell_right = cell.position_x + cell.border_width()  # type: ignore[attr-defined]
            if right > cell_right + tolerance:
                problems.append(
                    f"page {number}: {text!r} runs past its cell ({right:.0f} > {cell_right:.0f})"
                )
        for child in getattr(box, "children", ()):
            walk(child, number, page_right, cell)

    for number, page in enumerate(document.pages, start=1):
        walk(page._page_box, number, page.width, None)
    return problems
