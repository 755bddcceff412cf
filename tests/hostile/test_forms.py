"""Hostile input against every browser form (issue 21): no server error, no traceback, nothing
written when the form is refused, and refusal of what no field may hold.

The forms are found, not listed: every page of the permission matrix's table is opened as each
role that may see it, and every <form method="post"> on it is read (its action, inputs, selects,
textareas and their values). Every POST URL a role may use must be the action of a form found
this way, or be listed in NO_FORM with the reason. Each form is sent once as found (filled in
where empty, see FILL) and then with each field replaced by each hostile value a browser can
send (tests/hostile/values.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.urls import Resolver404, resolve

from tests.hostile import values
from tests.hostile.world import attempt, build, clients, profile_spec
from tests.test_permission_matrix import (
    ROLE_ORDER,
    TABLE,
    _expected,
    _kwargs,
    _path,
    urls_under_test,
)

pytestmark = pytest.mark.django_db

# POST URLs that are not the action of a form on any page, and why.
NO_FORM = {
    "login": "the sign-in form: django-axes and tests/gmhsc/test_security.py cover it",
    "logout": "a button with no fields (not sent: it would sign the suite out)",
    "health": "not a form: the health check answers any method",
    "home": "not a form: the home page ignores a POST body",
    "boards:board-list": "a list page that ignores a POST body",
    "boards:board-detail": "a page that ignores a POST body",
    "boards:dashboard": "a page that ignores a POST body",
    "boards:decision-register": "a page that ignores a POST body",
    "boards:interest-register": "a page that ignores a POST body",
    "boards:meeting-detail": "a page that ignores a POST body",
    "budgets:fund-list": "a page that ignores a POST body",
    "budgets:fund-virements": "a page that ignores a POST body",
    "budgets:my-requests": "a page that ignores a POST body",
    "budgets:variance": "a page that ignores a POST body",
    "budgets:export-detail": "a page that ignores a POST body",
    "budgets:export-progress": "an HTMX fragment that ignores a POST body",
    "budgets:line-row": "an HTMX fragment that ignores a POST body",
    "budgets:line-table": "an HTMX fragment that ignores a POST body",
    "budgets:line-table-totals": "an HTMX fragment that ignores a POST body",
    "budgets:virement-detail": "a page that ignores a POST body",
    "budgets:export-list": "a page that ignores a POST body",
}
# Empty fields of a form as found, filled in before it is sent (field name pattern -> value).
FILL = [
    (
        r"(^|_)(amount|annual_budget|value|planned_spend|plan|actual|forecast_delivery)($|_)",
        "1200.00",
    ),
    (r"^m\d\d$|^month_\d+$|^p\d\d$", "100.00"),
    (r"_pct$", "1.50"),
    # An import profile's fixed value for a field it reads from a column: left empty.
    (r"^constant_", ""),
    (r"^lines$", "own-A"),
    # GOV.UK dates are three boxes (gmhsc.forms.GovukDateField): day, month, year.
    (r"^(start_date|valid_from)[-_]day$", "15"),
    (r"^(start_date|valid_from)[-_]month$", "6"),
    (r"^(start_date|valid_from)[-_]year$", "2016"),
    (r"(date|_on|^valid_to)[-_]day$", "31"),
    (r"(date|_on|^valid_to)[-_]month$", "3"),
    (r"(date|_on|^valid_to)[-_]year$", "2017"),
    (r"^time$", "14:00"),
    (r"^start_date$|^valid_from$", "2016-06-15"),
    (r"date|_on$|^day$|^valid_to$", "2017-03-31"),
    (r"^year$", "2016/17"),
    (r"^number$|^quarter$", "1"),
    (r"^service_area$", "MX.AREA"),
    (r"code|reference|scheme", "HX-1"),
    (r".*", "Hostile input test"),
]
# Fields whose value as found would make the form fail for a reason that is not the attack's:
# the same line on both sides of a virement, the same line three times in a contract.
OVERRIDES: dict[str, Callable[[dict[str, Any]], str]] = {
    "to_line": lambda f: f["options"][1] if len(f["options"]) > 1 else f["value"],
    "line_2": lambda f: "",
    "amount_2": lambda f: "",
    "line_3": lambda f: "",
    "amount_3": lambda f: "",
    "new_end_date": lambda f: "",
}
# Selects sent with the option the page selected, even an empty one: an import profile's column
# choices (empty: "Not in this file"), which the page fills in from the sample's header.
KEEP_AS_FOUND = re.compile(r"^column_")
# Buttons (by name or value) that do something other than save (the gifts page's "check the rules
# first", the line chooser's "Find lines", an import profile's "Show the first 20 rows").
NOT_SAVE = {"check", "find_lines", "preview"}
# Files a form's file field is sent (by field name); any other file field gets a small CSV.
FILES: dict[str, tuple[str, bytes]] = {
    "profile_file": ("profile.json", json.dumps(profile_spec("hx-shared")).encode()),
    # A council's spend-over-£500 file: its headings are the shipped profile's, so guessed.
    "sample": (
        "sample.csv",
        (
            b"Transaction number,Date,Amount,Expense area,Expense type,Supplier,Description\n"
            b"HX-1,15/09/2016,10.00,CC-own,E1,Acme Care Ltd,September visits\n"
        ),
    ),
}
# Wizards (by URL name): the first step sends a file and answers with the next step's form, which
# carries what the first step stored (this hidden field); that form is found and sent in turn.
WIZARDS = {
    "budgets:ledger-profile-new": "sample_token",
    "budgets:ledger-profile-edit": "sample_token",
}
# What a person types in a line chooser's search box (budgets.choosers) to find the lines to
# choose from: the own fund's code holds it, so every line of the fund and year is offered.
LINE_SEARCH = "own"
SEARCH_BOX = re.compile(r"_q$")
# Values a form needs in this world: a gift nobody else must approve, a commitment profile that
# adds up to the contract's value.
FORM_OVERRIDES: dict[str, dict[str, str]] = {
    "boards:my-gifts": {"value": "20.00", "senior_approver": ""},
    "commissioning:contract-edit": {"amount_1": "12000.00"},
    "budgets:ledger-profile-new": {"name": "hx-sample"},
}
# Forms that do not succeed when sent as found (their pages answer 200 with a message).
NOT_ACCEPTED_AS_FOUND: dict[str, str] = {
    "commissioning:service-list": "the matrix world has no second-level service area to choose, "
    "so every post is refused (the attacks still run: nothing may be written, no server error)",
}
MONEY_NAME = re.compile(
    r"(^|_)(amount|annual_budget|value|planned_spend|forecast_delivery)($|_)|^[mp]\d\d$"
)


@dataclass
class Form:
    page: str
    role: str
    action: str
    url_name: str
    fields: list[dict[str, Any]] = field(default_factory=list)
    has_file: bool = False
    before: Form | None = None  # a wizard's earlier step, sent first (its answer feeds this one)

    def data(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in self.fields:
            name, kind, value = f["name"], f["kind"], f["value"]
            if kind in {"checkbox", "radio"}:
                if f.get("checked") or (kind == "radio" and name not in out):
                    out[name] = value if value is not None else "on"
                continue
            if kind == "file" or name in out or (kind == "submit" and {name, value} & NOT_SAVE):
                continue
            if name in OVERRIDES:
                out[name] = OVERRIDES[name](f)
                continue
            if kind == "select":
                if KEEP_AS_FOUND.search(name) and f.get("found") is not None:
                    out[name] = f["found"]
                else:  # a select with no option but the empty one is left empty
                    out[name] = value or ""
                continue
            if not (value or "").strip() and kind not in {"hidden", "submit"}:
                value = next(v for pattern, v in FILL if re.search(pattern, name))
            out[name] = value or ""
        out.update(FORM_OVERRIDES.get(self.url_name, {}))
        return out


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict[str, Any]] = []
        self._form: dict[str, Any] | None = None
        self._select: dict[str, Any] | None = None
        self._textarea: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "get").lower() == "post":
            self._form = {"action": a.get("action") or "", "fields": []}
            self.forms.append(self._form)
        if self._form is None:
            return
        if tag == "input" and a.get("name"):
            self._form["fields"].append(
                {
                    "name": a["name"],
                    "kind": (a.get("type") or "text").lower(),
                    "value": a.get("value") or "",
                    "checked": "checked" in a,
                }
            )
        elif tag == "button" and a.get("name"):
            self._form["fields"].append(
                {
                    "name": a["name"],
                    "kind": "submit",
                    "value": a.get("value") or "",
                    "checked": True,
                }
            )
        elif tag == "select" and a.get("name"):
            self._select = {
                "name": a["name"],
                "kind": "select",
                "value": None,
                "first": None,
                "options": [],
            }
            self._form["fields"].append(self._select)
        elif tag == "option" and self._select is not None:
            value = a.get("value") or ""
            if value:
                self._select["options"].append(value)
            if self._select["first"] is None and value:
                self._select["first"] = value
            if "selected" in a:
                self._select["value"] = value
        elif tag == "textarea" and a.get("name"):
            self._textarea = {"name": a["name"], "kind": "textarea", "value": ""}
            self._form["fields"].append(self._textarea)

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea["value"] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select" and self._select is not None:
            self._select["found"] = self._select["value"]  # None: no option was selected
            if not self._select["value"]:
                self._select["value"] = self._select["first"] or ""
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def _pages(world: Any) -> list[tuple[str, str]]:
    """(role, path) of every page a role may open, for its own organisation's objects."""
    pages = []
    for url in urls_under_test():
        row = TABLE.get(url.name)
        if row is None or "GET" not in row.methods or url.route.startswith("api/"):
            continue
        path = _path(url, _kwargs(url, row, world, "own"))
        for role, status in zip(ROLE_ORDER, _expected(row.methods["GET"], "own"), strict=True):
            if role != "anonymous" and status == 200:
                pages.append((role, path))
    return pages


def discover(world: Any) -> list[Form]:
    """The forms on every page, with the fund's budget draft, submitted, approved with a closed
    month, with its year closed, and with the ledger preview showing a problem (some forms appear
    only then); each state is rolled back after."""
    from django.db import transaction

    found: dict[tuple[str, tuple[str, ...]], Form] = {}
    for state in (None, _submitted, _closed, _year_closed, _preview_with_problems):
        try:
            with transaction.atomic():
                if state is not None:
                    state(world)
                _discover(world, found)
                raise _Done
        except _Done:
            pass
    return list(found.values())


class _Done(Exception):
    pass


def _discover(world: Any, found: dict[tuple[str, tuple[str, ...]], Form]) -> None:
    cl = clients(world)
    for role, page in _pages(world):
        response = cl[role].get(page)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        for form in _forms_of(cl[role], role, page, response.content.decode()):
            _record(found, form)
            if form.url_name in WIZARDS and any(f["kind"] == "file" for f in form.fields):
                # The wizard's first step (a sample file): its answer is the next step's form.
                answer = cl[role].post(form.action, {**form.data(), **_files(form)})
                for step in _forms_of(cl[role], role, form.action, answer.content.decode()):
                    if any(f["name"] == WIZARDS[form.url_name] and f["value"] for f in step.fields):
                        step.before = form
                        _record(found, step)


def _record(found: dict[tuple[str, tuple[str, ...]], Form], form: Form) -> None:
    key = (form.url_name, tuple(sorted({f["name"] for f in form.fields})))
    if key not in found or _unchosen(found[key]):
        found[key] = form


def _forms_of(client: Any, role: str, page: str, html: str) -> list[Form]:
    """The POST forms of a page (their actions resolved, line choosers' options found)."""
    parser = _Forms()
    parser.feed(html)
    out = []
    for raw in parser.forms:
        action = raw["action"] or page
        if action.startswith("http"):
            action = urlsplit(action).path + (
                "?" + urlsplit(action).query if urlsplit(action).query else ""
            )
        elif not action.startswith("/"):
            action = page.split("?")[0] + action
        try:
            match = resolve(urlsplit(action).path)
        except Resolver404:
            continue
        name = f"{match.namespace}:{match.url_name}" if match.namespace else match.url_name
        if name in {"login", "logout"}:  # signing out would sign the next attempts out too
            continue
        fields = [f for f in raw["fields"] if f["name"] != "csrfmiddlewaretoken"]
        _find_lines(client, action, fields)
        out.append(
            Form(
                page=page,
                role=role,
                action=action,
                url_name=name,
                fields=fields,
                has_file=any(f["kind"] == "file" for f in fields),
            )
        )
    return out


def _find_lines(client: Any, action: str, fields: list[dict[str, Any]]) -> None:
    """Fill each line chooser's options as a person would: type in its search box, press "Find
    lines" (the form comes back, nothing saved, listing the matches), then choose from the list."""
    choosers = [f["value"] for f in fields if f["kind"] == "submit" and f["name"] == "find_lines"]
    for name in choosers:
        select = next(f for f in fields if f["name"] == name and f["kind"] == "select")
        data = Form("", "", action, "", fields).data()
        data.update({f"{name}_q": LINE_SEARCH, "find_lines": name})
        response = client.post(action, data)
        parser = _Forms()
        parser.feed(response.content.decode())
        offered = [
            f["options"]
            for form in parser.forms
            for f in form["fields"]
            if f["name"] == name and f["kind"] == "select"
        ]
        if offered and offered[0]:  # (none while the page refuses the form: a later state)
            select["options"] = offered[0]
            select["first"] = select["value"] = offered[0][0]


def _unchosen(form: Form) -> bool:
    """A form with a line chooser that offered no line (found again in a later state)."""
    chooser = {f["value"] for f in form.fields if f["name"] == "find_lines"}
    return any(f["name"] in chooser and not f.get("options") for f in form.fields)


# What a form needs of the world before it is sent (inside the rolled-back savepoint).
def _approved(world: Any) -> None:
    from budgets.models import FundBudget

    FundBudget.objects.filter(fund=world.objects["fund"][0]).update(
        status=FundBudget.Status.APPROVED
    )


def _submitted(world: Any) -> None:
    from budgets.models import FundBudget

    FundBudget.objects.filter(fund=world.objects["fund"][0]).update(
        status=FundBudget.Status.SUBMITTED, submitted_by=world.users["commissioner"]
    )


def _closed(world: Any) -> None:
    """Approved, with April closed by the host's finance officer."""
    from budgets.models import FundPeriod, Period

    _approved(world)
    fund = world.objects["fund"][0]
    FundPeriod.objects.create(
        fund=fund,
        period=Period.objects.get(year__code="2016/17", number=1),
        status=FundPeriod.Status.CLOSED,
        changed_by=world.users["finance_officer"],
    )


def _year_closed(world: Any) -> None:
    """Approved, every month of 2016/17 closed and the year closed by the host's finance officer."""
    from budgets.models import Period
    from budgets.planning.services.periods import period_close
    from budgets.reports.year_end import financial_year_close

    _approved(world)
    fund, officer = world.objects["fund"][0], world.users["finance_officer"]
    for n in range(1, 13):
        period = Period.objects.get(year__code="2016/17", number=n)
        period_close(actor=officer, fund=fund, period=period, files=False)
    financial_year_close(actor=officer, fund=fund, year=period.year, reason="Year end")


def _next_year_open(world: Any) -> None:
    """Approved, with 2017/18 open to set its budget."""
    from tests.budgets.factories import make_year

    _approved(world)
    make_year("2017/18")


def _preview_with_problems(world: Any) -> None:
    """The ledger file's preview found a problem (so it can be checked again, not posted)."""
    from budgets.models import LedgerImport

    LedgerImport.objects.filter(pk=world.objects["ledger_import"][0].pk).update(
        error_count=1,
        errors=[{"row": 2, "field": "budget_line", "message": "no line own-A in 2016/17"}],
    )


PREPARE: dict[str, Callable[[Any], None]] = {
    "budgets:year-reopen": _year_closed,
    "budgets:ledger-import-check-again": _preview_with_problems,
    "budgets:period-reopen": _closed,
    "budgets:line-adjust": _approved,
    "budgets:virement-decide": _approved,
    "budgets:virement-request": _approved,
    "budgets:budget-approve": _submitted,
    "budgets:budget-setting": _next_year_open,
    "budgets:budget-return": _submitted,
}


def post(world: Any, form: Form, data: dict[str, Any], client: Any) -> Any:
    def go(counted: Callable[[], None]) -> Any:
        prepare = PREPARE.get(form.url_name)
        if prepare is not None:
            prepare(world)
        counted()
        payload = {**data, **_files(form)}
        if form.before is not None:
            # The earlier step again (it stores a fresh sample): its answer's hidden fields.
            answer = client[form.role].post(
                form.before.action, {**form.before.data(), **_files(form.before)}
            )
            hidden = WIZARDS[form.before.url_name]
            for step in _forms_of(
                client[form.role], form.role, form.action, answer.content.decode()
            ):
                payload.update({f["name"]: f["value"] for f in step.fields if f["name"] == hidden})
        return client[form.role].post(form.action, payload)

    return attempt(go)


def _files(form: Form) -> dict[str, Any]:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return {
        f["name"]: SimpleUploadedFile(*FILES.get(f["name"], ("x.csv", b"a,b\n1,2\n")))
        for f in form.fields
        if f["kind"] == "file"
    }


def _next_step(form: Form, outcome: Any) -> bool:
    """A wizard's first step answered with the next step (what it stored, in its hidden field)."""
    hidden = WIZARDS.get(form.url_name)
    return bool(
        hidden
        and form.has_file
        and re.search(rf'name="{hidden}" value="[^"]+"'.encode(), outcome.body)
    )


def _said(body: bytes) -> list[str]:
    """The error messages a refused form's page shows (its error summary and message banners)."""
    text = body.decode("utf-8", "replace")
    found = re.findall(r'class="govuk-error-message"[^>]*>(.*?)</p>', text, re.S)
    found += re.findall(r'govuk-notification-banner__heading"?[^>]*>(.*?)</', text, re.S)
    return [re.sub(r"<[^>]+>|\s+", " ", f).strip()[:200] for f in found]


def _form_id(form: Form) -> str:
    return f"{form.url_name}[{form.role}]"


@pytest.fixture
def world():
    return build()


@pytest.fixture
def found(world):
    return discover(world)


def test_every_form_post_url_is_a_form_that_was_found(found):
    posts = set()
    for url in urls_under_test():
        row = TABLE.get(url.name)
        if row is None or url.route.startswith(("api/", "admin/")) or "POST" not in row.methods:
            continue
        statuses = _expected(row.methods["POST"], "own")
        if any(
            200 <= s < 400
            for role, s in zip(ROLE_ORDER, statuses, strict=True)
            if role != "anonymous"
        ):
            posts.add(url.name)
    forms = {f.url_name for f in found}
    missing = sorted(posts - forms - set(NO_FORM))
    assert len(forms) >= 25
    assert not missing, f"POST URLs with no form found on any page: {missing}"
    assert not (set(NO_FORM) & forms), (
        f"listed in NO_FORM but found: {sorted(set(NO_FORM) & forms)}"
    )


def test_each_form_as_found_is_accepted(world, found):
    """The attacks start from forms that succeed (a redirect), so a refusal is the hostile
    value's doing; forms that cannot succeed as found are listed with the reason."""
    cl = clients(world)
    failures = []
    for form in found:
        outcome = post(world, form, form.data(), cl)
        if (
            outcome.status != 302
            and form.url_name not in NOT_ACCEPTED_AS_FOUND
            and not _next_step(form, outcome)
        ):
            failures.append(
                f"{_form_id(form)}: {outcome.status} {outcome.error} {_said(outcome.body)} "
                f"{form.data()}"
            )
    assert not failures, "\n".join(failures)


def test_hostile_form_values(world, found):
    """One test over every form found (forms are found from the pages, so they cannot be named
    before the database exists)."""
    cl = clients(world)
    problems: list[str] = []
    sent = 0
    for form in found:
        base = form.data()
        fields = [
            f
            for f in form.fields
            if f["kind"] not in {"hidden", "submit", "file", "checkbox", "radio"}
        ]
        for f in fields:
            attacks = values.FORM_TEXT + (values.FORM_MONEY if MONEY_NAME.search(f["name"]) else [])
            for text in attacks:
                outcome = post(world, form, {**base, f["name"]: text}, cl)
                sent += 1
                what = f"{_form_id(form)} {f['name']}={text!r:.60}"
                problems.extend(_problems(outcome, what, _must_refuse(f, text)))
    assert sent > 300
    assert not problems, f"{len(problems)} problems in {sent} posts:\n" + "\n".join(problems[:80])


def _must_refuse(f: dict[str, Any], text: str) -> str | None:
    if SEARCH_BOX.search(f["name"]):
        return None  # a line chooser's search words narrow the list; they are never saved
    if any(ch in text.strip() for ch in "\x00\x01\x1b\x7f\x85"):
        return "a control character"  # (at either end, a form's usual trimming removes it)
    if (
        MONEY_NAME.search(f["name"])
        and text
        in {v if isinstance(v, str) else getattr(v, "token", None) for v in values.BAD_MONEY}
        and text.strip()
    ):
        return "not a valid amount"
    return None


def _problems(outcome: Any, what: str, reason: str | None) -> list[str]:
    found = []
    if outcome.status >= 500:
        return [f"{what}: server error {outcome.status} {outcome.error}"]
    if b"Traceback" in outcome.body:
        found.append(f"{what}: a traceback in the answer")
    refused = outcome.status != 302
    if refused and outcome.written:
        found.append(f"{what}: refused ({outcome.status}) but wrote {outcome.written}")
    if reason and not refused and outcome.written:
        found.append(f"{what}: accepted and written though {reason}: {outcome.written}")
    return found


# Decimals a form may take that are not money (BCF metrics are counts and rates).
NOT_MONEY = {("BcfMetricForm", "plan"), ("BcfMetricForm", "actual")}


def test_every_form_declares_its_text_and_money_with_the_one_cleaner_and_parser():
    """A plain CharField would bypass gmhsc.text, a DecimalField gmhsc.money (it takes 1e5)."""
    import importlib
    import pkgutil

    from django import forms

    from gmhsc.forms import MoneyField
    from gmhsc.text import TextFormField

    for package in ("gmhsc", "localities", "budgets", "commissioning", "boards"):
        root = importlib.import_module(package)
        for info in pkgutil.walk_packages(root.__path__, f"{package}."):
            if re.search(r"\.(forms|views)(\.|$)", info.name):  # where forms are declared
                importlib.import_module(info.name)

    def project_forms(cls: type) -> list[type]:
        found = []
        for sub in cls.__subclasses__():
            if sub.__module__.split(".")[0] in {
                "gmhsc",
                "localities",
                "budgets",
                "commissioning",
                "boards",
            }:
                found.append(sub)
            found.extend(project_forms(sub))
        return found

    problems = []
    classes = {c for c in project_forms(forms.BaseForm) if not c.__module__.endswith(".admin")}
    for cls in classes:
        for name, f in cls.base_fields.items():
            if isinstance(f, forms.DecimalField) and (cls.__name__, name) not in NOT_MONEY:
                problems.append(
                    f"{cls.__module__}.{cls.__name__}.{name}: DecimalField, not MoneyField"
                )
            if type(f) is forms.CharField or (
                isinstance(f, forms.CharField)
                and not isinstance(
                    f, TextFormField | MoneyField | forms.EmailField | forms.URLField
                )
            ):
                problems.append(f"{cls.__module__}.{cls.__name__}.{name}: {type(f).__name__}")
    assert len(classes) >= 20
    assert not problems, "\n".join(sorted(problems))
