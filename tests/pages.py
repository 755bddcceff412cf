"""Walking the rendered pages of a world as a signed-in person, and the checks every page passes.

`walk` follows every same-site link from a few starting pages (at most `per_shape` pages for each
path and set of query keys, so the sort and filter combinations of one table are sampled, not
multiplied). The checks read the HTML as a person's browser would get it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urljoin, urlsplit

SKIP = re.compile(
    r"^/(accounts/logout|admin|api|static|media|health)"
    r"|\.(csv|xlsx|pdf|svg)(\?|$)|/download|/errors\.csv|/paper/|/pack/[0-9]+/file|format="
)

# Pages about pence: postings, ledger imports and corrections, adjustments typed to the penny, and
# gifts and hospitality (whose thresholds are £6, £25, £50 and £75).
# Pages about pence: ledgers and postings, adjustments, registers of gifts, and what partners pay
# and are owed (contributions and receipts, the memorandum account, settlement statements).
PENCE_PAGES = re.compile(
    r"^/budgets/(ledger|postings)/|/adjust/$|^/boards/(gifts|interests)/|/registers/$"
    r"|/contributions/$|/memorandum-account/$|/settlement"
)

BARE_DECIMAL = re.compile(r"(?<![\d,.£/\-A-Za-z])-?\d{4,}\.\d{1,2}(?![\d%])")
POUNDS_WITHOUT_COMMAS = re.compile(r"£\d{4,}")
POUNDS_WITH_PENCE = re.compile(r"£\d{1,3}(?:,\d{3})*\.\d{1,2}(?!\d)")


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.ids: list[str] = []
        self.described: list[tuple[str, str]] = []
        self.styles: list[str] = []
        self.style_elements = 0
        self.inline_scripts = 0
        self.text: list[str] = []
        self._skip_text = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "a" and values.get("href"):
            self.links.append(values["href"])
        if "id" in values:
            self.ids.append(values["id"])
        if values.get("aria-describedby"):
            for target in values["aria-describedby"].split():
                self.described.append((tag, target))
        if "style" in values:
            self.styles.append(f"<{tag} style={values['style']!r}>")
        if tag == "style":
            self.style_elements += 1
        if tag == "script" and "src" not in values:
            self.inline_scripts += 1
        if tag in ("script", "style", "textarea"):
            self._skip_text += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "textarea") and self._skip_text:
            self._skip_text -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip_text:
            self.text.append(data)


class Page:
    """One rendered page and what the checks need from it."""

    def __init__(self, url: str, html: str) -> None:
        self.url = url
        self.html = html
        parsed = _Page()
        parsed.feed(html)
        self.links = parsed.links
        self.ids = parsed.ids
        self.described = parsed.described
        self.styles = parsed.styles
        self.style_elements = parsed.style_elements
        self.inline_scripts = parsed.inline_scripts
        self.text = " ".join(" ".join(parsed.text).split())

    @property
    def path(self) -> str:
        return urlsplit(self.url).path


def _shape(url: str) -> str:
    parts = urlsplit(url)
    path = re.sub(r"/\d+(?=/|$)", "/N", parts.path)
    keys = ",".join(sorted({k for k, _ in parse_qsl(parts.query)} - {"page"}))
    return f"{path}?{keys}"


def walk(client, starts: Iterable[str], *, per_shape: int = 2, limit: int = 400) -> list[Page]:
    """Every page reachable from `starts` (GET, 200, HTML), sampled by shape."""
    queue = list(starts)
    seen: set[str] = set()
    shapes: dict[str, int] = {}
    pages: list[Page] = []
    while queue and len(pages) < limit:
        url = queue.pop(0)
        parts = urlsplit(url)
        url = parts.path + (f"?{parts.query}" if parts.query else "")
        if url in seen or SKIP.search(url):
            continue
        seen.add(url)
        shape = _shape(url)
        if shapes.get(shape, 0) >= per_shape:
            continue
        shapes[shape] = shapes.get(shape, 0) + 1
        response = client.get(url)
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        page = Page(url, response.content.decode())
        pages.append(page)
        for href in page.links:
            target = urljoin(url, href.split("#")[0])
            if target.startswith("/") and not target.startswith("//"):
                queue.append(target)
    return pages


def bare_amounts(page: Page) -> list[str]:
    """Money shown other than as £1,234,567 (or £1,234.56 on a page about pence)."""
    found = BARE_DECIMAL.findall(page.text) + POUNDS_WITHOUT_COMMAS.findall(page.text)
    if not PENCE_PAGES.search(page.path):
        found += POUNDS_WITH_PENCE.findall(page.text)
    return found


def form_problems(page: Page) -> list[str]:
    """Hints and errors wired to ids that exist, ids unique, no Django "---------" choice."""
    problems = []
    ids = set(page.ids)
    problems += [
        f"aria-describedby={t!r} on <{tag}> has no element"
        for tag, t in page.described
        if t not in ids
    ]
    duplicates = sorted({i for i in page.ids if page.ids.count(i) > 1})
    problems += [f"duplicate id {i!r}" for i in duplicates]
    if "---------" in page.html:
        problems.append('a "---------" choice')
    if "This field is required." in page.html:
        problems.append('an error that does not name its field ("This field is required.")')
    return problems


def inline_style_problems(page: Page) -> list[str]:
    """The Content Security Policy allows no inline style or script."""
    problems = list(page.styles)
    if page.style_elements:
        problems.append(f"{page.style_elements} <style> element(s)")
    if page.inline_scripts:
        problems.append(f"{page.inline_scripts} inline <script> element(s)")
    return problems
