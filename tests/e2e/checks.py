"""Checks every browser test gets on every page it visits (tests/e2e/conftest.py wires them in).

- Content Security Policy: every `securitypolicyviolation` event and every console message about
  the policy, on every page, from the first navigation to the end of the test.
- axe-core (the pinned npm package vendored by scripts/vendor.sh): at the end of the test, on the
  page as the test left it and on every other page it visited (opened again), no serious or
  critical violation, and nothing serious or critical that axe marks "needs review" either.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from django.conf import settings

AXE = Path(settings.BASE_DIR) / "static" / "vendor" / "axe" / "axe.min.js"
SERIOUS = ("serious", "critical")
NOT_A_PAGE = re.compile(
    r"/(accounts/logout|admin|api|static|media)/|/download|\.(csv|xlsx|pdf|svg)(\?|$)"
)

# Runs in every document before its own scripts; the page's CSP does not apply to it.
LISTEN = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.__gmhscCsp && window.__gmhscCsp(
    `${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile || location.pathname}:${e.lineNumber}`
  );
});
"""


class PageWatch:
    """What one test's page did: the pages it visited and the policy violations it met."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.visited: list[str] = []
        self.csp: list[str] = []
        page.expose_function("__gmhscCsp", lambda text: self.csp.append(f"{page.url}: {text}"))
        page.add_init_script(LISTEN)
        page.on("console", self._console)
        page.on("framenavigated", self._navigated)

    def _console(self, message: Any) -> None:
        text = message.text
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            self.csp.append(f"{self.page.url}: console: {text}")

    def _navigated(self, frame: Any) -> None:
        if frame == self.page.main_frame and frame.url.startswith("http"):
            url = frame.url.split("#")[0]
            if not NOT_A_PAGE.search(url) and url not in self.visited:
                self.visited.append(url)

    def axe_problems(self) -> list[str]:
        """axe on the page as it is now, then on every other page visited, opened again."""
        problems = [f"{self.page.url}: {p}" for p in serious_findings(self.page)]
        current = self.page.url.split("#")[0]
        for url in list(self.visited):
            if url == current:
                continue
            response = self.page.goto(url)
            if response is None or response.status != 200:
                continue
            if "text/html" not in (response.headers.get("content-type") or ""):
                continue
            problems += [f"{url}: {p}" for p in serious_findings(self.page)]
        return problems


def serious_findings(page: Any) -> list[str]:
    """Serious and critical violations, and serious and critical results axe could not decide
    ("needs review"), on the page as it is."""
    assert AXE.exists(), "run scripts/vendor.sh to vendor axe-core"
    if not page.url.startswith("http"):
        return []
    origin = page.evaluate("() => location.origin")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(url=f"{origin}/static/vendor/axe/axe.min.js")
    result = page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations', 'incomplete']})"
    )
    found = []
    for kind in ("violations", "incomplete"):
        for item in result[kind]:
            if item["impact"] in SERIOUS:
                nodes = item["nodes"]
                if kind == "incomplete" and item["id"] == "color-contrast":
                    undecided = _contrast_undecided_in_view(page, [n["target"] for n in nodes])
                    nodes = [n for i, n in enumerate(nodes) if i in undecided]
                    if not nodes:
                        continue
                targets = [n["target"] for n in nodes][:3]
                label = "needs review" if kind == "incomplete" else "violation"
                found.append(
                    f"{item['id']} ({item['impact']}, {label}): {item['help']} -> {targets}"
                )
    return found


def _contrast_undecided_in_view(page: Any, targets: list[list[str]]) -> set[int]:
    """axe cannot read the background of text a scrolling region has cut at its edge (a wide
    table's far columns): scroll the text into view, as a reader would, and check it again.

    Returns the indexes of the targets that still fail or stay undecided when scrolled into view
    themselves. One browser call: each round scrolls the first undecided text into view and runs
    axe's contrast rule once over every text still undecided, so a screenful of cells is settled
    per run (a variance report has ~500 such cells; one axe run each took minutes per page).
    A text passes only when axe decides it passes; it fails only after it was in view itself."""
    if not targets:
        return set()
    return set(
        page.evaluate(
            """async (targets) => {
                const failed = [];
                let pending = [];
                targets.forEach((target, i) => {
                    // inside a frame or shadow root, or gone: leave it to be reported
                    const el = target.length === 1 ? document.querySelector(target[0]) : null;
                    if (el) { pending.push({i, el}); } else { failed.push(i); }
                });
                while (pending.length) {
                    const first = pending[0];
                    first.el.scrollIntoView({block: 'center', inline: 'center'});
                    const r = await axe.run({include: pending.map((p) => p.el)},
                                            {runOnly: ['color-contrast'],
                                             resultTypes: ['violations', 'incomplete']});
                    const flagged = [];
                    for (const kind of [r.violations, r.incomplete]) {
                        for (const rule of kind) {
                            for (const node of rule.nodes) {
                                const found = node.target.length === 1
                                    ? document.querySelector(node.target[0]) : null;
                                flagged.push(found);
                            }
                        }
                    }
                    const undecided = (p) => flagged.some((f) => f === null || p.el.contains(f));
                    let firstFails = undecided(first);
                    if (firstFails && flagged.includes(null)) {
                        // a finding in a frame or shadow root names no element here: the text
                        // in view is checked on its own
                        const own = await axe.run(first.el,
                                                  {runOnly: ['color-contrast'],
                                                   resultTypes: ['violations', 'incomplete']});
                        firstFails = own.violations.length + own.incomplete.length > 0;
                    }
                    if (firstFails) { failed.push(first.i); }
                    pending = pending.slice(1).filter(undecided);
                }
                return failed;
            }""",
            targets,
        )
    )
