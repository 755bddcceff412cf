"""The variance report as a PDF (WeasyPrint): A4 landscape, a running header with fund, period and
as-at time, "Page n of m" from CSS counters, totals on the last page."""

from __future__ import annotations

from collections.abc import Callable

from django.template.loader import render_to_string

from budgets.reports.variance import VarianceReport


def render_pdf_html(report: VarianceReport) -> str:
    return render_to_string("budgets/reports/pdf/variance.html", {"report": report})


def render_pdf(report: VarianceReport, progress: Callable[[float], None] | None = None) -> bytes:
    from weasyprint import HTML

    html = render_pdf_html(report)
    if progress is not None:
        progress(0.3)
    pdf = HTML(string=html).write_pdf()
    assert pdf is not None
    return pdf
