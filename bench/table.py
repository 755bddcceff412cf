"""Print the README's Performance table from bench/results/*.json (python bench/table.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def load(name: str) -> dict[str, Any]:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else {}


def met(flag: Any) -> str:
    return {True: "met", False: "**missed**"}.get(flag, "")


def server_time_row(page: str, figures: dict[str, Any] | None) -> tuple[str, str, str, str] | None:
    """A figures page's server p95 beside the trivial signed-in page's (bench/pagetime.py)."""
    if not figures or "ratio_p95" not in figures:
        return None
    return (
        f"{page} server time / signed-in home page's, p95",
        (
            f"{figures['page_server_p95_ms']:g} / {figures['trivial_server_p95_ms']:g} ms = "
            f"{figures['ratio_p95']:g} x"
        ),
        f"<= {figures['target_ratio']:g} x",
        met(figures["meets_target"]),
    )


def rows() -> list[tuple[str, str, str, str]]:
    out: list[tuple[str, str, str, str]] = []
    for module in ("ledger_import", "recompute", "years"):
        for f in load(module).get("figures", []):
            value = f"{f['value']:,} {f['unit']}"
            out.append((f["name"], value, str(f.get("target", "")), met(f.get("met"))))
    lines = load("lines_page")
    if lines:
        label = f"lines page, {lines['lines']:,} lines, {lines['concurrent_users']} users"
        out.append(
            (
                f"{label}, p50 / p95",
                f"{lines['p50_ms']} / {lines['p95_ms']} ms, {lines['errors']} errors",
                f"p95 <= {lines['target_p95_ms']:g} ms",
                met(lines["meets_target"]),
            )
        )
        if row := server_time_row("lines page", lines.get("server_time_vs_trivial_page")):
            out.append(row)
    mappings = load("mappings_page")
    if mappings:
        label = (
            f"ledger mappings page, {mappings['mappings']:,} mappings "
            f"({mappings['organisation']}), {mappings['concurrent_users']} users"
        )
        out.append(
            (
                f"{label}, p50 / p95",
                f"{mappings['p50_ms']} / {mappings['p95_ms']} ms, {mappings['errors']} errors",
                f"p95 <= {mappings['target_p95_ms']:g} ms",
                met(mappings["meets_target"]),
            )
        )
    reports = load("reports")
    if reports:
        page = reports["variance_page"]
        label = f"variance page, {page['fund_lines']:,}-line fund, {page['concurrent_users']} users"
        out.append(
            (
                f"{label}, p50 / p95",
                f"{page['p50_ms']} / {page['p95_ms']} ms, {page['errors']} errors",
                "p95 <= 300 ms",
                met(page["pass"]),
            )
        )
        if row := server_time_row("variance page", page.get("server_time_vs_trivial_page")):
            out.append(row)
        xlsx, pdf = reports["xlsx_10000_lines"], reports["pdf_500_lines"]
        out.append(
            (
                f"XLSX of {xlsx['lines']:,} lines",
                f"{xlsx['total_s']} s",
                "<= 10 s",
                met(xlsx["pass"]),
            )
        )
        out.append(
            (f"PDF of {pdf['lines']:,} lines", f"{pdf['total_s']} s", "<= 10 s", met(pdf["pass"]))
        )
    boards = load("boards")
    if boards:
        dash, pack = boards["dashboard"], boards["pack"]
        out.append(
            (
                f"board dashboard, {dash['users']} users (p50 / p95)",
                f"{dash['page_p50_ms']} / {dash['page_p95_ms']} ms",
                f"p95 <= {dash['target_p95_ms']} ms",
                met(dash["meets_target"]),
            )
        )
        if row := server_time_row("board dashboard", dash.get("server_time_vs_trivial_page")):
            out.append(row)
        out.append(
            (
                f"board pack, {pack['papers']} papers ({pack['pages_full']} pages)",
                f"{pack['build_seconds']} s",
                f"<= {pack['target_seconds']} s",
                met(pack["meets_target"]),
            )
        )
    summary = load("summary")
    memory = summary.get("modules", {}).get("memory", {}).get("result", {})
    for f in memory.get("figures", []):
        out.append((f["name"], f"{f['value']:,} {f['unit']}", "", ""))
    return out


def main() -> None:
    summary = load("summary")
    machine = summary.get("machine", {})
    print(
        f"Measured {summary.get('started_at', '?')[:16]} UTC by `make bench` "
        f"({summary.get('seconds', '?')} s) on {machine.get('nproc')} cores, "
        f"{machine.get('memory_gib')} GiB, {machine.get('cpu_model')}, "
        f"PostgreSQL {machine.get('postgresql', '?')}.\n"
    )
    print("| measurement | result | target | |")
    print("| --- | --- | --- | --- |")
    for name, value, target, verdict in rows():
        print(f"| {name} | {value} | {target} | {verdict} |")
    probes = [
        f"{name} {entry['cpu_probe_ms']} ms"
        for name, entry in summary.get("modules", {}).items()
        if "cpu_probe_ms" in entry
    ]
    if probes:
        print(
            "\nCPU probe (the same pure-Python workload, timed just before each module; higher "
            "means a slower machine at that moment): " + ", ".join(probes) + "."
        )


if __name__ == "__main__":
    main()
