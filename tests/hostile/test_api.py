"""Hostile input against every API write (issue 21): no server error, the API's JSON error shape,
nothing written on refusal, and refusal of what no field may hold.

Every write operation in the OpenAPI schema has a spec in OPS: who may call it, and a request it
accepts (checked by test_each_base_request_is_accepted, so the attacks start from a request that
would succeed). Each field of that request (nested ones too) is then replaced by each value in
tests/hostile/values.py:
- every value: never a server error; a refusal is 4xx with {"code", "detail"} and writes nothing;
- NUL, control characters and lone surrogates: refused in every field;
- an object, a list or true/false where the request has text: refused;
- non-finite, exponent, over-precise and out-of-range amounts in money fields: refused.
Whole bodies are attacked too (deep nesting, wrong JSON types, bad bytes, an over-large body),
and ids of another organisation's objects must be answered exactly as ids that do not exist.
Schemathesis (tests/system/test_schemathesis.py) fuzzes the same operations from the schema.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.budgets.factories import LEDGER_HEADER
from tests.hostile import values
from tests.hostile.values import Raw
from tests.hostile.world import attempt, build, clients, profile_spec

pytestmark = pytest.mark.django_db

# Fields whose value is legitimately an object or a list.
STRUCTURED = {"parameters", "postings", "custom", "lines", "months", "actuals"}
# Money fields (by name; nested: the values of months/actuals, the items of custom).
MONEY = {"amount", "annual_budget", "value", "planned_spend", "forecast_delivery"}
MONEY_CONTAINERS = {"custom", "months", "actuals", "planned"}
# Objects whose keys name something else: an import profile's columns map a posting's fields
# (amount among them) to the file's column headings, which are text.
NOT_MONEY_CONTAINERS = {"columns"}


@dataclass
class Call:
    role: str
    method: str
    path: str
    body: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    file: tuple[str, bytes] | None = None  # multipart upload: (name, content)
    ids: dict[str, str] = field(default_factory=dict)  # body field -> object kind (enumeration)


# ---- the world's states ---------------------------------------------------------------------------


def _own(w: Any, kind: str) -> Any:
    return w.objects[kind][0]


def _approve(w: Any) -> None:
    from budgets.models import FundBudget

    FundBudget.objects.filter(fund=_own(w, "fund")).update(status=FundBudget.Status.APPROVED)


def _period(code: str = "2016/17-M06") -> Any:
    from budgets.selectors import get_period

    return get_period(code)


def _submitted(w: Any) -> None:
    from budgets.models import FundBudget

    FundBudget.objects.filter(fund=_own(w, "fund")).update(
        status=FundBudget.Status.SUBMITTED, submitted_by=w.users["commissioner"]
    )


def _month_one_closed(w: Any) -> None:
    from budgets.models import FundPeriod

    FundPeriod.objects.create(
        fund=_own(w, "fund"),
        period=_period("2016/17-M01"),
        status=FundPeriod.Status.CLOSED,
        changed_by=w.users["finance_officer"],
    )


def _next_year_open(w: Any) -> None:
    from tests.budgets.factories import make_year

    _approve(w)
    make_year("2017/18")


def _year_ready_to_close(w: Any) -> None:
    from budgets.planning.services.periods import period_close

    _approve(w)
    for n in range(1, 13):
        period_close(
            actor=w.users["finance_officer"],
            fund=_own(w, "fund"),
            period=_period(f"2016/17-M{n:02d}"),
            files=False,
        )


def _year_closed(w: Any) -> None:
    from budgets.reports.year_end import financial_year_close

    _year_ready_to_close(w)
    financial_year_close(
        actor=w.users["finance_officer"],
        fund=_own(w, "fund"),
        year=_period().year,
        reason="Year end",
    )


# ---- one spec per write operation -------------------------------------------------------------


@dataclass(frozen=True)
class Own:
    """In a spec's path or body: an attribute (the id unless named) of the organisation's own
    object of this kind, read from the world when the request is built."""

    kind: str
    attr: str = "pk"

    def of(self, w: Any) -> Any:
        return getattr(_own(w, self.kind), self.attr)


class OtherLineOfFund:
    """In a spec's body: the id of another line of the own line's fund (a virement's other end)."""

    def of(self, w: Any) -> Any:
        line = _own(w, "line")
        return line.fund.lines.exclude(pk=line.pk).first().pk


def _resolved(body: Any, w: Any) -> Any:
    if isinstance(body, Own | OtherLineOfFund):
        return body.of(w)
    if isinstance(body, dict):
        return {k: _resolved(v, w) for k, v in body.items()}
    if isinstance(body, list):
        return [_resolved(v, w) for v in body]
    return body


KIND = re.compile(r"\{(\w+)\}")


@dataclass(eq=False)
class Spec:
    """A write operation's accepted request: `request` is "METHOD /path/" with {kind} for the id of
    the organisation's own object of that kind (the schema's {id}); `prepare` sets up the world's
    state it needs; `if_match` sends the own line's version; `file` makes it a multipart upload."""

    name: str
    role: str
    request: str
    body: dict[str, Any] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)  # body field -> object kind (enumeration)
    prepare: Callable[[Any], None] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    if_match: bool = False
    file: tuple[str, bytes] | None = None

    @property
    def operation(self) -> str:
        """The operation as the schema names it."""
        method, path = self.request.split(" ")
        return method + " " + KIND.sub("{id}", path)

    def __call__(self, w: Any) -> Call:
        if self.prepare is not None:
            self.prepare(w)
        method, path = self.request.split(" ")
        kinds = KIND.findall(path)
        headers = dict(self.headers)
        if self.if_match:
            headers["HTTP_IF_MATCH"] = f'"{_own(w, "line").version}"'
        return Call(
            self.role,
            method,
            path.format(**{kind: _own(w, kind).pk for kind in kinds}),
            _resolved(self.body, w),
            headers=headers,
            file=self.file,
            ids=dict(self.ids),
        )


POSTING_ROW = {
    "document_number": "HX-1",
    "line_number": 1,
    "posting_date": "2016-09-15",
    "amount": "125.50",
    "budget_line": Own("line"),
    "supplier": "Acme Care Ltd",
    "description": "September visits",
    "is_accrual": False,
}
PROFILE_RENAMED = {"spec": profile_spec("mx-own"), "reason": "Column renamed"}
LEDGER_FILE = (
    f"{LEDGER_HEADER},budget_line\nMXOWN,HX-L1,1,2016-09-15,,,10.00,Acme,September,own-A\n"
)
BUDGET_HEADER = "line_code,name,service_area,locality,lead_commissioner,annual_budget,phasing\n"
BUDGET_FILE = BUDGET_HEADER + "HX-UP,Uploaded line,MX.AREA,,MXOWN,1200.00,flat\n"
FO, COMMISSIONER, ADMIN = "finance_officer", "commissioner", "administrator"

SPECS = [
    Spec(
        "spend_postings",
        FO,
        "POST /api/v1/spend-postings/",
        {"postings": [POSTING_ROW]},
        ids={"postings.0.budget_line": "line"},
    ),
    Spec(
        "spend_posting_single",
        FO,
        "POST /api/v1/spend-postings/",
        POSTING_ROW,
        ids={"budget_line": "line"},
        headers={"HTTP_IDEMPOTENCY_KEY": "hostile-1"},
    ),
    Spec(
        "spend_posting_reverse",
        FO,
        "POST /api/v1/spend-postings/{posting}/reverse/",
        {"reason": "Keyed twice"},
    ),
    Spec(
        "virement_create",
        COMMISSIONER,
        "POST /api/v1/virements/",
        {
            "from_line": Own("line"),
            "to_line": OtherLineOfFund(),
            "amount": "500.00",
            "recurrent": False,
            "reason": "Winter pressures",
        },
        ids={"from_line": "line", "to_line": "line"},
        prepare=_approve,
    ),
    Spec(
        "virement_approve",
        FO,
        "POST /api/v1/virements/{virement}/approve/",
        {"note": "Agreed at the JCE"},
        prepare=_approve,
    ),
    Spec(
        "virement_reject",
        FO,
        "POST /api/v1/virements/{virement}/reject/",
        {"note": "Not this year"},
    ),
    Spec(
        "virement_withdraw",
        COMMISSIONER,
        "POST /api/v1/virements/{virement}/withdraw/",
        {"note": "No longer needed"},
    ),
    Spec(
        "adjustment_create",
        FO,
        "POST /api/v1/budget-adjustments/",
        {
            "line": Own("line"),
            "amount": "-250.00",
            "reason": "Savings plan",
            "recurrent": False,
            "period": "2016/17-M06",
        },
        ids={"line": "line"},
        prepare=_approve,
    ),
    Spec(
        "forecast_create",
        COMMISSIONER,
        "POST /api/v1/forecasts/",
        {
            "line": Own("line"),
            "period": "2016/17-M06",
            "amount": "120000.00",
            "commentary": "On plan",
        },
        ids={"line": "line"},
    ),
    Spec(
        "line_create",
        COMMISSIONER,
        "POST /api/v1/budget-lines/",
        {
            "fund": Own("fund"),
            "year": "2016/17",
            "code": "HX-NEW",
            "name": "Reablement",
            "service_area": "MX.AREA",
            "lead_commissioner": "MXOWN",
            "locality": "",
            "recurrent": True,
            "annual_budget": "1200.00",
            "phasing_method": "custom",
            "custom": ["100.00"] * 12,
            "reason": "New service",
        },
        ids={"fund": "fund"},
    ),
    Spec(
        "line_update",
        COMMISSIONER,
        "PATCH /api/v1/budget-lines/{line}/",
        {"name": "Home care (renamed)", "annual_budget": "130000.00", "reason": "Uplift"},
        if_match=True,
    ),
    Spec(
        "line_rephase",
        COMMISSIONER,
        "POST /api/v1/budget-lines/{line}/rephase/",
        {"method": "seasonal", "reason": "Winter profile"},
        if_match=True,
    ),
    Spec(
        "contribution_create",
        FO,
        "POST /api/v1/contributions/",
        {
            "fund": Own("fund"),
            "year": "2016/17",
            "partner": "MXOWN",
            "amount": "1100000.00",
            "variation_reason": "",
        },
        ids={"fund": "fund"},
    ),
    Spec(
        "risk_share_create",
        FO,
        "POST /api/v1/risk-share-agreements/",
        {
            "fund": Own("fund"),
            "year": "2016/17",
            "rule": "threshold",
            "parameters": {
                "host_first_pct": "2.00",
                "then": "pro_rata",
                "cap_at_contribution": False,
            },
            "agreed_on": "2016-03-01",
            "notes": "Section 75 schedule 3",
            "reason": "Agreed",
        },
        ids={"fund": "fund"},
    ),
    Spec("fund_submit", COMMISSIONER, "POST /api/v1/funds/{fund}/submit/", {"year": "2016/17"}),
    Spec(
        "fund_approve",
        FO,
        "POST /api/v1/funds/{fund}/approve/",
        {"year": "2016/17"},
        prepare=_submitted,
    ),
    Spec(
        "fund_fix_shares",
        FO,
        "POST /api/v1/funds/{fund}/fix-shares/",
        {"year": "2016/17", "variation_reason": ""},
    ),
    Spec(
        "fund_close_period",
        FO,
        "POST /api/v1/funds/{fund}/close-period/",
        {"period": "2016/17-M01", "reason": "Month end"},
    ),
    Spec(
        "fund_reopen_period",
        ADMIN,
        "POST /api/v1/funds/{fund}/reopen-period/",
        {"period": "2016/17-M01", "reason": "Late invoices"},
        prepare=_month_one_closed,
    ),
    Spec(
        "mapping_create",
        FO,
        "POST /api/v1/ledger-mappings/",
        {
            "year": "2016/17",
            "cost_centre": "HX100",
            "expense_code": "E5100",
            "budget_line": Own("line"),
            "reason": "New cost centre",
        },
        ids={"budget_line": "line"},
    ),
    Spec(
        "mapping_update",
        FO,
        "PATCH /api/v1/ledger-mappings/{mapping}/",
        {"budget_line": Own("line"), "reason": "Re-pointed"},
        ids={"budget_line": "line"},
    ),
    Spec("mapping_delete", FO, "DELETE /api/v1/ledger-mappings/{mapping}/"),
    Spec("ledger_import", FO, "POST /api/v1/ledger-imports/", file=("l.csv", LEDGER_FILE.encode())),
    Spec(
        "budget_import",
        COMMISSIONER,
        "POST /api/v1/budget-imports/",
        {"fund": "MX-OWN", "year": "2016/17"},
        file=("budget.csv", BUDGET_FILE.encode()),
    ),
    Spec(
        "export_create",
        FO,
        "POST /api/v1/exports/",
        {"fund": "MX-OWN", "period": "2016/17-M06", "format": "csv", "grouping": "service_area"},
    ),
    Spec(
        "provider_create",
        COMMISSIONER,
        "POST /api/v1/providers/",
        {"name": "Hostile Care Ltd", "kind": "independent", "companies_house_number": "01234567"},
    ),
    Spec(
        "service_create",
        COMMISSIONER,
        "POST /api/v1/commissioned-services/",
        {
            "name": "Night sitting",
            "service_area": "MX.AREA",
            "locality": "",
            "care_setting": "home",
        },
    ),
    Spec(
        "contract_create",
        COMMISSIONER,
        "POST /api/v1/contracts/",
        {
            "fund": "MX-OWN",
            "year": "2016/17",
            "reference": "HX-C-1",
            "title": "Night sitting",
            "service": Own("contract", "service_id"),
            "provider": Own("contract", "provider_id"),
            "value": "1200.00",
            "start_date": "2016-04-01",
            "end_date": "2017-03-31",
            "extension_options": "",
            "status": "planned",
            "lines": [{"line": Own("line"), "amount": "1200.00"}],
        },
        ids={"service": "contract_service", "lines.0.line": "line"},
    ),
    Spec(
        "contract_profile",
        COMMISSIONER,
        "POST /api/v1/contracts/{contract}/profile/",
        {
            "value": "1200.00",
            "start_date": "2016-04-01",
            "end_date": "2017-03-31",
            "lines": [{"line": Own("line"), "months": {str(n): "100.00" for n in range(1, 13)}}],
        },
        ids={"lines.0.line": "line"},
    ),
    Spec(
        "contract_status",
        COMMISSIONER,
        "POST /api/v1/contracts/{contract}/status/",
        {"status": "in_procurement"},
    ),
    Spec(
        "contract_decision",
        COMMISSIONER,
        "POST /api/v1/contracts/{contract}/decisions/",
        {
            "kind": "award",
            "value": "1000.00",
            "summary": "Award after open tender",
            "participants": "Head of commissioning",
            "conflicts_declared": "",
            "conflicts_handling": "",
            "procurement_route": "open",
        },
    ),
    Spec(
        "bcf_scheme",
        COMMISSIONER,
        "POST /api/v1/bcf-schemes/",
        {
            "fund": "MXBCF-OWN",
            "year": "2016/17",
            "scheme": "S01",
            "name": "Carers' breaks",
            "scheme_type": "carers",
            "lead_commissioner": "la",
            "provider_type": "charity",
            "area_of_spend": "social_care",
            "funding_source": "ccg_minimum",
            "planned_spend": "1000.00",
            "actuals": {"1": "250.00"},
        },
    ),
    Spec(
        "bcf_condition",
        COMMISSIONER,
        "POST /api/v1/bcf-conditions/",
        {
            "fund": "MXBCF-OWN",
            "year": "2016/17",
            "number": 1,
            "status": "met",
            "commentary": "Plan agreed",
        },
    ),
    Spec(
        "bcf_metric",
        COMMISSIONER,
        "POST /api/v1/bcf-metrics/",
        {
            "fund": "MXBCF-OWN",
            "year": "2016/17",
            "metric": "BCF1",
            "quarter": 1,
            "plan": "100.00",
            "actual": "90.00",
            "local_definition": "",
        },
    ),
    Spec(
        "profile_create",
        FO,
        "POST /api/v1/import-profiles/",
        {"spec": profile_spec("hx-new"), "reason": "Our ledger's export"},
    ),
    Spec("profile_put", FO, "PUT /api/v1/import-profiles/{profile}/", PROFILE_RENAMED),
    Spec("profile_patch", FO, "PATCH /api/v1/import-profiles/{profile}/", PROFILE_RENAMED),
    Spec("profile_delete", FO, "DELETE /api/v1/import-profiles/{profile}/"),
    Spec("profile_copy", FO, "POST /api/v1/import-profiles/{profile}/copy/", {"name": "hx-copy"}),
    Spec(
        "profile_import",
        FO,
        "POST /api/v1/import-profiles/import/",
        {"name": "hx-imported"},
        file=("profile.json", json.dumps(profile_spec("hx-shared")).encode()),
    ),
    Spec("ledger_import_post", FO, "POST /api/v1/ledger-imports/{ledger_import}/post/"),
    Spec(
        "ledger_import_check_again", FO, "POST /api/v1/ledger-imports/{ledger_import}/check-again/"
    ),
    Spec(
        "financial_year_open",
        ADMIN,
        "POST /api/v1/financial-years/",
        {"code": "2017/18", "reason": "Next year's budget setting"},
    ),
    Spec(
        "receipt_create",
        FO,
        "POST /api/v1/contribution-receipts/",
        {
            "fund": Own("fund"),
            "year": "2016/17",
            "partner": "MXOWN",
            "amount": "2500.00",
            "received_on": "2016-05-04",
            "reference": "BACS 2",
        },
        ids={"fund": "fund"},
    ),
    Spec(
        "savings_create",
        COMMISSIONER,
        "POST /api/v1/savings-schemes/",
        {
            "fund": Own("fund"),
            "year": "2016/17",
            "code": "HX-S1",
            "name": "Home care rates",
            "lead_commissioner": "MXOWN",
            "lines": ["own-A"],
            "planned": ["100.00"] * 12,
            "commentary": "Renegotiated rates",
        },
        ids={"fund": "fund"},
    ),
    Spec(
        "savings_update",
        COMMISSIONER,
        "PATCH /api/v1/savings-schemes/{savings_scheme}/",
        {
            "name": "Matrix saving (renamed)",
            "lines": ["own-A"],
            "planned": ["50.00"] * 12,
            "forecast_delivery": "500.00",
            "commentary": "Slipping",
            "reason": "Quarterly review",
        },
    ),
    Spec(
        "savings_delivery",
        COMMISSIONER,
        "POST /api/v1/savings-schemes/{savings_scheme}/deliveries/",
        {"month": "3", "amount": "45.00", "commentary": "Two packages ended"},
    ),
    Spec(
        "roll_forward",
        FO,
        "POST /api/v1/funds/{fund}/roll-forward/",
        {
            "year": "2017/18",
            "from_year": "2016/17",
            "uplift_pct": "2.10",
            "efficiency_pct": "1.50",
            "service_areas": {"MX.AREA": {"uplift_pct": "3", "efficiency_pct": "1"}},
            "contribution_uplift_pct": "1.00",
            "partner_uplifts": {"MXOWN": "1.50"},
            "replace_draft": False,
            "reason": "Budget setting",
        },
        prepare=_next_year_open,
    ),
    Spec(
        "close_year",
        FO,
        "POST /api/v1/funds/{fund}/close-year/",
        {"year": "2016/17", "reason": "Year end"},
        prepare=_year_ready_to_close,
    ),
    Spec(
        "reopen_year",
        ADMIN,
        "POST /api/v1/funds/{fund}/reopen-year/",
        {"year": "2016/17", "reason": "Audit adjustment"},
        prepare=_year_closed,
    ),
]
SPEC = {spec.name: spec for spec in SPECS}
# Operation (as the schema names it) -> the requests that exercise it.
OPS: dict[str, list[Spec]] = {}
for _spec in SPECS:
    OPS.setdefault(_spec.operation, []).append(_spec)
UPLOADS = [spec for spec in SPECS if spec.file is not None]
# Requests that carry no body (the action reads none), so no body can attack them.
NO_BODY = [spec for spec in SPECS if not spec.body and spec.file is None]
# The specs whose bodies name objects by id (Spec.ids says which fields).
WITH_IDS = [spec for spec in SPECS if spec.ids]


# ---- sending ------------------------------------------------------------------------------------


def send(client: Any, call: Call, body: Any = None, *, raw: bytes | None = None) -> Any:
    method = getattr(client, call.method.lower())
    if call.file is not None:
        name, content = call.file
        data = {k: v for k, v in (call.body if body is None else body).items() if v is not None}
        data = {k: values.form_text(v) if not isinstance(v, str) else v for k, v in data.items()}
        data = {k: v for k, v in data.items() if v is not None}
        return method(
            call.path, {**data, "file": SimpleUploadedFile(name, content)}, **call.headers
        )
    if raw is not None:
        return method(call.path, raw, content_type="application/json", **call.headers)
    payload = call.body if body is None else body
    text = values.dumps(payload) if payload or call.method != "DELETE" else ""
    return method(call.path, text, content_type="application/json", **call.headers)


def run(
    world: Any,
    spec: Spec,
    mutate: Callable[[Call], Any] | None = None,
    *,
    raw: bytes | None = None,
    client: Any = None,
) -> Any:
    cl = client or clients(world)

    def go(counted: Callable[[], None]) -> Any:
        call = spec(world)
        body = mutate(call) if mutate else None
        counted()
        return send(cl[call.role], call, body, raw=raw)

    return attempt(go)


def shape(world: Any, spec: Spec) -> Call:
    """The spec's request, built in a savepoint that is rolled back (to learn its fields)."""
    from django.db import transaction

    built: list[Call] = []
    try:
        with transaction.atomic():
            built.append(spec(world))
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    return built[0]


# ---- walking a body ------------------------------------------------------------------------------


# A key that holds a dot (a service area code such as MX.AREA) is written in a dotted path with
# this look-alike (ONE DOT LEADER), so the path still splits into its keys.
KEY_DOT = "\u2024"


def leaves(body: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted path, value) of every field, containers included, deepest last."""
    items = body.items() if isinstance(body, dict) else enumerate(body)
    for key, value in items:
        path = f"{prefix}{str(key).replace('.', KEY_DOT)}"
        yield path, value
        if isinstance(value, dict | list) and value:
            yield from leaves(value, path + ".")


def replaced(body: Any, path: str, value: Any) -> Any:
    out = copy.deepcopy(body)
    *parents, last = (part.replace(KEY_DOT, ".") for part in path.split("."))
    node = out
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return out


def is_money(path: str) -> bool:
    parts = path.split(".")
    if len(parts) >= 2 and parts[-2] in NOT_MONEY_CONTAINERS:
        return False
    if parts[-1] in MONEY:
        return True
    return len(parts) >= 2 and parts[-2] in MONEY_CONTAINERS


def must_refuse(path: str, original: Any, value: Any) -> str | None:
    """Why `value` must be refused in this field, or None."""
    if isinstance(value, str) and any(ch in value for ch in "\x00\x01\x1b\x7f\x85\ud800"):
        return "a control character or a lone surrogate"
    if is_money(path) and value in values.BAD_MONEY and value != "":
        return "not a valid amount"
    if (
        isinstance(original, str)
        and value in values.NOT_TEXT
        and path.split(".")[-1] not in STRUCTURED
    ):
        return "not text"
    return None


def problems_of(outcome: Any, what: str, reason: str | None) -> list[str]:
    found = []
    if outcome.status >= 500:
        found.append(f"{what}: server error {outcome.status} {outcome.error}")
        return found
    if outcome.status >= 400:
        if outcome.written:
            found.append(f"{what}: refused ({outcome.status}) but wrote {outcome.written}")
        if "json" not in outcome.content_type:
            found.append(f"{what}: {outcome.status} answered as {outcome.content_type}")
        else:
            body = outcome.json()
            if not (isinstance(body, dict) and "code" in body and "detail" in body):
                found.append(f"{what}: error body without code and detail: {body!r:.200}")
    elif reason:
        found.append(f"{what}: accepted ({outcome.status}) though {reason}")
    if b"Traceback" in outcome.body:
        found.append(f"{what}: a traceback in the answer")
    return found


def spec_id(spec: Spec) -> str:
    return spec.name


# ---- the tests -----------------------------------------------------------------------------------


def test_every_api_write_operation_has_a_hostile_spec():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    writes = {
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method in operations
        if method in {"post", "put", "patch", "delete"}
    }
    assert writes == set(OPS), (
        f"missing: {sorted(writes - set(OPS))}; stale: {sorted(set(OPS) - writes)}"
    )


@pytest.fixture
def world():
    return build()


def test_each_base_request_is_accepted(world):
    """The attacks start from requests that succeed, so a refusal is the hostile value's doing."""
    failures = []
    for spec in SPECS:
        outcome = run(world, spec)
        if not 200 <= outcome.status < 300:
            failures.append(
                f"{spec_id(spec)}: {outcome.status} {outcome.body[:300]!r} {outcome.error}"
            )
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("spec", SPECS, ids=spec_id)
def test_hostile_field_values(world, spec):
    cl = clients(world)
    base = shape(world, spec)
    problems: list[str] = []
    fields = list(leaves(base.body))
    sent = 0
    for path, original in fields:
        for value in values.ALL:
            if base.file is not None and values.form_text(value) is None:
                continue

            def mutate(call: Call, path: str = path, value: Any = value) -> Any:
                return replaced(call.body, path, value)

            outcome = run(world, spec, mutate, client=cl)
            sent += 1
            what = f"{spec_id(spec)} {path}={value!r:.60}"
            problems.extend(problems_of(outcome, what, must_refuse(path, original, value)))
    assert sent or not base.body
    assert not problems, f"{len(problems)} problems in {sent} requests:\n" + "\n".join(problems)


WHOLE_BODIES: list[tuple[str, bytes]] = [
    ("nested arrays 100,000 deep", b"[" * 100_000),
    ("nested objects 100,000 deep", b'{"a":' * 100_000),
    ("nested 40 deep", b'{"a":' * 40 + b"1" + b"}" * 40),
    ("a JSON list", b"[1, 2]"),
    ("a JSON string", b'"postings"'),
    ("JSON null", b"null"),
    ("NaN", b'{"amount": NaN}'),
    ("truncated", b'{"amount": "1'),
    ("not UTF-8", b'{"reason": "\xff\xfe"}'),
    ("a 6 MB body", b'{"reason": "' + b"x" * (6 * 1024 * 1024) + b'"}'),
    ("a 5,000-digit number", b'{"amount": ' + b"9" * 5000 + b"}"),
]


@pytest.mark.parametrize("spec", [s for s in SPECS if s not in UPLOADS + NO_BODY], ids=spec_id)
def test_hostile_whole_bodies(world, spec):
    """(A DELETE, and an action on an import, read no body: NO_BODY is left out.)"""
    cl = clients(world)
    problems: list[str] = []
    for name, raw in WHOLE_BODIES:
        outcome = run(world, spec, raw=raw, client=cl)
        what = f"{spec_id(spec)} with {name}"
        problems.extend(problems_of(outcome, what, None))
        if name.startswith("nested arrays") and outcome.status != 400:
            problems.append(f"{what}: {outcome.status}, expected 400")
        if name == "a 6 MB body" and outcome.status != 413:
            problems.append(f"{what}: {outcome.status}, expected 413")
    assert not problems, "\n".join(problems)


# (file content, the problem named) for the budget upload: refused, nothing written.
BAD_BUDGET_FILES = [
    (BUDGET_HEADER + "HX-UP,Line,MX.AREA,,MXOWN,1e5,flat\n", "written with an exponent"),
    (BUDGET_HEADER + "HX-UP,Line,MX.AREA,,MXOWN,1E+5,flat\n", "written with an exponent"),
    (BUDGET_HEADER + f"HX-UP,Line,MX.AREA,,MXOWN,{'1' * 30},flat\n", "is too large"),
    (BUDGET_HEADER + "HX-UP,Line,MX.AREA,,MXOWN,NaN,flat\n", "'NaN' is not a number"),
    (BUDGET_HEADER + "HX-UP,Line,MX.AREA,,MXOWN,12.345,flat\n", "more than 2 decimal places"),
    (BUDGET_HEADER + "HX-UP,Li\x01ne,MX.AREA,,MXOWN,1200.00,flat\n", "control character U+0001"),
    (
        BUDGET_HEADER + "x" * 5000 + "\nHX-UP,Li\x00ne,MX.AREA,,MXOWN,1200.00,flat\n",
        "NUL character",
    ),
    (BUDGET_HEADER + "HX-UP,Line,MX.AREA,,MXOWN,1200.00,flat\n\udcff\udcfe", "not UTF-8"),
]
BAD_LEDGER_FILES = [
    ("MXOWN,HX-L1,1,2016-09-15,,,1e5,Acme,September,own-A\n", "written with an exponent"),
    ("MXOWN,HX-L1,1,2016-09-15,,,NaN,Acme,September,own-A\n", "'NaN' is not a number"),
    ("MXOWN,HX-L1\x1b,1,2016-09-15,,,10.00,Acme,September,own-A\n", "control character U+001B"),
    ("MXOWN,HX-L1,1,2016-09-15,,,10.00,Ac\x7fme,September,own-A\n", "control character U+007F"),
]


def test_hostile_upload_files_are_refused_naming_the_problem(world):
    """Issue 21 item 6: exponent notation was accepted as £100,000 in a budget upload."""
    cl = clients(world)
    problems = []
    for content, named in BAD_BUDGET_FILES:

        def with_file(w: Any, content: str = content) -> Call:
            call = SPEC["budget_import"](w)
            call.file = ("budget.csv", content.encode("utf-8", "surrogateescape"))
            return call

        outcome = run(world, with_file, client=cl)
        problems += problems_of(outcome, f"budget file {content[-40:]!r}", "a bad file")
        if named not in outcome.body.decode("utf-8", "replace"):
            problems.append(
                f"budget file {content[-40:]!r}: {outcome.body[:300]!r} names no {named!r}"
            )
    for row, named in BAD_LEDGER_FILES:

        def with_rows(w: Any, row: str = row) -> Call:
            call = SPEC["ledger_import"](w)
            call.file = ("l.csv", f"{LEDGER_HEADER},budget_line\n{row}".encode())
            return call

        outcome = run(world, with_rows, client=cl)
        # A ledger file that is read to the end is recorded (201, rejected) with every problem.
        problems += problems_of(outcome, f"ledger file {row!r}", None)
        body = outcome.json()
        if outcome.status != 201 or body.get("status") != "rejected":
            problems.append(f"ledger file {row!r}: {outcome.status} {body!r:.200}")
        elif named not in str(body["errors"]):
            problems.append(f"ledger file {row!r}: {body['errors']!r} names no {named!r}")
        if outcome.written:
            problems.append(f"ledger file {row!r}: wrote {outcome.written}")
    assert not problems, "\n".join(problems)


def test_a_json_object_is_never_stored_as_a_document_number(world):
    """Issue 21 item 6: {"a": 1} was stored as the text "{'a': 1}"."""

    def with_object(call: Call) -> Any:
        return replaced(call.body, "postings.0.document_number", {"a": 1})

    outcome = run(world, SPEC["spend_postings"], with_object)
    assert outcome.status == 400
    assert outcome.json()["errors"] == [
        {"row": 1, "field": "document_number", "message": "must be text, not an object"}
    ]
    assert outcome.written == {}


def test_risk_share_parameters_must_be_an_object_of_known_names(world):
    """Issue 21 item 5: "parameters": [1, 2] was a TypeError (500)."""
    for parameters, message in (
        ([1, 2], "The parameters must be an object of names and values"),
        (
            {"host_first_pct": "2.00", "cap_at_contribution": "yes"},
            "cap_at_contribution must be true or false",
        ),
        ({"host_first_pct": "2.00", "bogus": 1}, "takes no parameter 'bogus'"),
    ):

        def with_parameters(call: Call, parameters: Any = parameters) -> Any:
            return replaced(call.body, "parameters", parameters)

        outcome = run(world, SPEC["risk_share_create"], with_parameters)
        assert outcome.status == 400, outcome.body
        assert message in outcome.json()["detail"]
        assert outcome.json()["field"] == "parameters"
        assert outcome.written == {}


MISSING = 2_000_000_000


def _foreign_id(world: Any, kind: str) -> int:
    if kind == "contract_service":
        return int(world.objects["contract"][1].service_id)
    return int(world.objects[kind][1].pk)


@pytest.mark.parametrize("spec", WITH_IDS, ids=spec_id)
def test_another_organisations_id_is_answered_as_an_id_that_does_not_exist(world, spec):
    """Issue 21 item 13: no answer may tell another organisation's objects from missing ones."""
    cl = clients(world)
    ids = shape(world, spec).ids
    assert ids
    problems = []
    for path, kind in ids.items():
        answers = []
        for value in (_foreign_id(world, kind), MISSING):

            def with_id(call: Call, path: str = path, value: int = value) -> Any:
                return replaced(call.body, path, value)

            outcome = run(world, spec, with_id, client=cl)
            text = outcome.body.decode().replace(str(value), "ID")
            answers.append((outcome.status, text))
            if outcome.status < 400 or outcome.written:
                problems.append(f"{path}={value}: {outcome.status} wrote {outcome.written}")
        if answers[0] != answers[1]:
            problems.append(f"{path}: foreign {answers[0]} but missing {answers[1]}")
    assert not problems, "\n".join(problems)


# Non-money decimals an input may take (BCF metrics are counts and rates, not pounds).
NOT_MONEY = {("BcfMetricInput", "plan"), ("BcfMetricInput", "actual")}


def test_every_request_body_declares_its_text_and_money_with_the_one_cleaner_and_parser():
    """A plain CharField or DecimalField in a request body would bypass gmhsc.text / gmhsc.money."""
    from rest_framework import serializers

    from gmhsc.api_fields import MoneyField, TextField

    generator = SchemaGenerator()
    generator._initialise_endpoints()
    problems = []
    checked = 0

    def walk(owner: str, fields: dict[str, Any]) -> None:
        nonlocal checked
        for name, f in fields.items():
            if f.read_only:
                continue
            checked += 1
            if isinstance(f, serializers.ListField | serializers.DictField):
                walk(owner, {name: f.child})
            elif isinstance(f, serializers.BaseSerializer):
                child = f.child if isinstance(f, serializers.ListSerializer) else f
                walk(type(child).__name__, child.fields)
            elif isinstance(f, serializers.CharField) and not isinstance(f, TextField):
                problems.append(f"{owner}.{name} is a {type(f).__name__}, not TextField")
            elif isinstance(f, serializers.DecimalField) and (owner, name) not in NOT_MONEY:
                problems.append(f"{owner}.{name} is a DecimalField, not MoneyField")
            elif isinstance(f, MoneyField | TextField):
                continue

    for path, path_regex, method, view in generator._get_paths_and_endpoints():
        if method not in {"POST", "PUT", "PATCH"}:
            continue
        view.schema.path, view.schema.path_regex = path, path_regex
        view.schema.method, view.schema.view = method, view
        request = view.schema.get_request_serializer()
        if isinstance(request, dict):
            request = next(iter(request.values()))
        serializer = request() if isinstance(request, type) else request
        if serializer is None:  # an action without a body (post a preview, check again)
            continue
        walk(type(serializer).__name__, serializer.fields)
    assert checked > 150
    assert not problems, "\n".join(sorted(set(problems)))


# ---- property-based: any value in any field of the busiest writes --------------------------------

ANY_VALUE = st.one_of(
    st.text(max_size=40),
    st.integers(),
    # A JSON body has no Decimal: a decimal is sent as its number text (exponents included).
    st.decimals(allow_nan=False, allow_infinity=False).map(lambda d: Raw(str(d))),
    st.builds(
        Raw,
        st.from_regex(r"-?[0-9]{1,40}(\.[0-9]{1,6})?([eE][+-]?[0-9]{1,4})?", fullmatch=True),
    ),
    st.none(),
    st.booleans(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@pytest.mark.parametrize(
    "spec",
    [SPEC[name] for name in ("spend_postings", "virement_create", "line_create")],
    ids=spec_id,
)
@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_value_in_any_field_never_fails_or_half_writes(world, spec, data):
    """Hypothesis picks a field of the accepted request and a value of any JSON type (text of any
    characters, huge or exponent numbers, objects, lists): never a server error, and a refusal
    writes nothing."""
    fields = [path for path, _ in leaves(shape(world, spec).body)]
    path = data.draw(st.sampled_from(fields), label="field")
    value = data.draw(ANY_VALUE, label="value")

    def mutate(call: Call) -> Any:
        return replaced(call.body, path, value)

    outcome = run(world, spec, mutate)
    assert not problems_of(outcome, f"{path}={value!r:.80}", None)
