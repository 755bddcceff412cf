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

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.urls import Resolver404, resolve

from tests.hostile import values
from tests.hostile.world import attempt, build, clients
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
    (r"(^|_)(amount|annual_budget|value|planned_spend|plan|actual)($|_)", "1200.00"),
    (r"^m\d\d$|^month_\d+$", "100.00"),
    # GOV.UK dates are three boxes (gmhsc.forms.GovukDateField): day, month, year.
    (r"^(start_date|valid_from)_day$", "15"),
    (r"^(start_date|valid_from)_month$", "6"),
    (r"^(start_date|valid_from)_year$", "2016"),
    (r"(date|_on|^valid_to)_day$", "31"),
    (r"(date|_on|^valid_to)_month$", "3"),
    (r"(date|_on|^valid_to)_year$", "2017"),
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
# Buttons that do something other than save (the gifts page's "check the rules first").
NOT_SAVE = {"check"}
# Values a form needs in this world: a gift nobody else must approve, a commitment profile that
# adds up to the contract's value.
FORM_OVERRIDES: dict[str, dict[str, str]] = {
    "boards:my-gifts": {"value": "20.00", "senior_approver": ""},
    "commissioning:contract-edit": {"amount_1": "12000.00"},
}
# Forms that do not succeed when sent as found (their pages answer 200 with a message).
NOT_ACCEPTED_AS_FOUND: dict[str, str] = {
    "commissioning:service-list": "the matrix world has no second-level service area to choose, "
    "so every post is refused (the attacks still run: nothing may be written, no server error)",
}
MONEY_NAME = re.compile(r"(^|_)(amount|annual_budget|value|planned_spend)($|_)|^m\d\d$")


@dataclass
class Form:
    page: str
    role: str
    action: str
    url_name: str
    fields: list[dict[str, Any]] = field(default_factory=list)
    has_file: bool = False

    def data(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in self.fields:
            name, kind, value = f["name"], f["kind"], f["value"]
            if kind in {"checkbox", "radio"}:
                if f.get("checked") or (kind == "radio" and name not in out):
                    out[name] = value if value is not None else "on"
                continue
            if kind == "file" or name in out or (kind == "submit" and name in NOT_SAVE):
                continue
            if name in OVERRIDES:
                out[name] = OVERRIDES[name](f)
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
    """The forms on every page, with the fund's budget draft, submitted, and approved with a
    closed month (some forms appear only then); each state is rolled back after."""
    from django.db import transaction

    found: dict[tuple[str, tuple[str, ...]], Form] = {}
    for state in (None, _submitted, _closed):
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
        parser = _Forms()
        parser.feed(response.content.decode())
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
            key = (name, tuple(sorted({f["name"] for f in fields})))
            if key not in found:
                found[key] = Form(
                    page=page,
                    role=role,
                    action=action,
                    url_name=name,
                    fields=fields,
                    has_file=any(f["kind"] == "file" for f in fields),
                )


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


PREPARE: dict[str, Callable[[Any], None]] = {
    "budgets:period-reopen": _closed,
    "budgets:line-adjust": _approved,
    "budgets:virement-decide": _approved,
    "budgets:virement-request": _approved,
    "budgets:budget-approve": _submitted,
    "budgets:budget-return": _submitted,
}


def post(world: Any, form: Form, data: dict[str, Any], client: Any) -> Any:
    def go(counted: Callable[[], None]) -> Any:
        prepare = PREPARE.get(form.url_name)
        if prepare is not None:
            prepare(world)
        counted()
        payload = dict(data)
        if form.has_file:
            from django.core.files.uploadedfile import SimpleUploadedFile

            for f in form.fields:
                if f["kind"] == "file":
                    payload[f["name"]] = SimpleUploadedFile("x.csv", b"a,b\n1,2\n")
        return client[form.role].post(form.action, payload)

    return attempt(go)


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
        if outcome.status != 302 and form.url_name not in NOT_ACCEPTED_AS_FOUND:
            failures.append(f"{_form_id(form)}: {outcome.status} {outcome.error} {form.data()}")
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
