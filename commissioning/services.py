"""Every commissioning write: permission-checked, validated, transactional, audited.

Contracts feed the variance report's commitments column through the budgets service
`commitments_replace` (source reference "contract:<pk>"), which writes LineCommitment rows and
marks the lines stale so the recompute engine rewrites their figures after commit. The engine
counts a month's commitment as remaining until that month's period is reached, so a contract's
remaining commitment falls as its months are invoiced and posted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from budgets.models import BudgetLine, FinancialYear, Period, PooledFund, ServiceArea
from budgets.planning.services.commitments import commitments_replace
from commissioning import rules
from commissioning.models import (
    BCF_CONDITIONS,
    BCF_METRICS,
    BcfCondition,
    BcfMetric,
    BcfScheme,
    Contract,
    ContractCommitment,
    ContractDecision,
    ContractLine,
    Provider,
    Service,
)
from gmhsc.audit import audit
from gmhsc.errors import ApplicationError, NotAllowed, NotFound
from gmhsc.money import MoneyError, format_money, split_largest_remainder, to_money
from localities import roles
from localities.actors import Actor
from localities.models import Locality, Organisation

Profile = dict[int, dict[int, Decimal]]


def _money(value: Any, field: str, label: str, *, allow_none: bool = False) -> Decimal:
    if value in (None, "") and allow_none:
        return Decimal("0.00")
    try:
        amount = to_money(value)
    except MoneyError as exc:
        raise ApplicationError(f"{label} {exc}.", extra={"field": field}) from None
    if amount < 0:
        raise ApplicationError(f"{label} cannot be negative.", extra={"field": field})
    return amount


def _text(
    value: Any, field: str, label: str, *, required: bool = True, max_length: int = 200
) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise ApplicationError(f"Enter {label}.", extra={"field": field})
    if len(text) > max_length:
        raise ApplicationError(
            f"{label.capitalize()} must be {max_length} characters or fewer.",
            extra={"field": field},
        )
    return text


def _choice(value: Any, choices: Any, field: str, label: str) -> str:
    if value not in choices.values:
        raise ApplicationError(f"Choose {label}.", extra={"field": field})
    return str(value)


def _require_commissioner(actor: Actor, fund: PooledFund) -> None:
    if not rules.can_commission_in_fund(actor, fund):
        if rules.can_view_fund(actor, fund):
            raise NotAllowed(
                "Only commissioners of the fund's partner organisations may do this.",
                extra={"field": "fund"},
            )
        raise NotFound("Fund not found.")


# ---- providers and services ---------------------------------------------------------------------


def providers_sync_trusts() -> int:
    """A Provider for every NHS provider trust of the reference data (idempotent). Returns new rows."""
    created = 0
    for org in Organisation.objects.filter(kind=Organisation.Kind.NHS_PROVIDER).order_by("name"):
        if Provider.objects.filter(organisation=org).exists():
            continue
        name = org.name
        if Provider.objects.filter(name=name).exists():
            name = f"{org.name} ({org.code})"
        Provider.objects.create(name=name, kind=Provider.Kind.NHS_TRUST, organisation=org)
        created += 1
    return created


def provider_create(
    *, actor: Actor, name: str, kind: str, companies_house_number: str = ""
) -> Provider:
    """Add a provider that is not in the reference data (care homes, charities, companies)."""
    if not (roles.is_administrator(actor) or roles.has_role(actor, roles.COMMISSIONER)):
        raise NotAllowed("Only commissioners may add providers.")
    name = _text(name, "name", "the provider's name")
    kind = _choice(kind, Provider.Kind, "kind", "the kind of provider")
    if kind == Provider.Kind.NHS_TRUST:
        raise ApplicationError(
            "NHS trusts come from the reference data; choose them from the list.",
            extra={"field": "kind"},
        )
    if Provider.objects.filter(name__iexact=name).exists():
        raise ApplicationError(f"A provider called {name} already exists.", extra={"field": "name"})
    provider = Provider(
        name=name,
        kind=kind,
        companies_house_number=_text(
            companies_house_number,
            "companies_house_number",
            "the company number",
            required=False,
            max_length=20,
        ),
        added_by_id=actor.organisation_id,
    )
    audit(provider, actor=actor, reason="Provider added")
    with transaction.atomic():
        provider.save()
    return provider


def service_create(
    *,
    actor: Actor,
    name: str,
    service_area: ServiceArea | None,
    care_setting: str,
    locality: Locality | None = None,
) -> Service:
    if not (roles.is_administrator(actor) or roles.has_role(actor, roles.COMMISSIONER)):
        raise NotAllowed("Only commissioners may record services.")
    org_id = actor.organisation_id
    if org_id is None:
        raise NotAllowed("You need an organisation to commission services.")
    name = _text(name, "name", "the service's name")
    if service_area is None:
        raise ApplicationError("Choose the service area.", extra={"field": "service_area"})
    care_setting = _choice(care_setting, Service.CareSetting, "care_setting", "the care setting")
    if Service.objects.filter(commissioner_id=org_id, name__iexact=name).exists():
        raise ApplicationError(
            f"Your organisation already has a service called {name}.", extra={"field": "name"}
        )
    service = Service(
        name=name,
        service_area=service_area,
        locality=locality,
        care_setting=care_setting,
        commissioner_id=org_id,
    )
    audit(service, actor=actor, reason="Service recorded")
    with transaction.atomic():
        service.save()
    return service


# ---- contracts ----------------------------------------------------------------------------------


def contract_months(year: FinancialYear, start: dt.date, end: dt.date) -> list[int]:
    """Period numbers (1..12) of `year` in which a contract running start..end is live."""
    return [
        n
        for n, p_start, p_end in Period.objects.filter(year=year, number__lte=12)
        .order_by("number")
        .values_list("number", "start_date", "end_date")
        if p_start <= end and p_end >= start
    ]


def profile_flat(
    *, year: FinancialYear, start: dt.date, end: dt.date, line_amounts: Mapping[int, Decimal]
) -> Profile:
    """Each line's amount spread evenly over the contract's months in the year, to the penny."""
    months = contract_months(year, start, end)
    if not months:
        raise ApplicationError(
            f"The contract does not run in {year.code}, so it commits nothing that year.",
            extra={"field": "end_date"},
        )
    return {
        line_id: dict(zip(months, split_largest_remainder(amount, [1] * len(months)), strict=True))
        for line_id, amount in line_amounts.items()
    }


def _clean_profile(
    *,
    actor: Actor,
    fund: PooledFund,
    year: FinancialYear,
    value: Decimal,
    profile: Mapping[Any, Mapping[Any, Any]],
) -> tuple[dict[int, BudgetLine], Profile]:
    if not profile:
        raise ApplicationError(
            "Link at least one budget line and give its commitment profile.",
            extra={"field": "lines"},
        )
    try:
        line_ids = [int(k) for k in profile]
    except (TypeError, ValueError):
        raise ApplicationError(
            "Choose budget lines from the list.", extra={"field": "lines"}
        ) from None
    lines = {ln.pk: ln for ln in BudgetLine.objects.select_related("fund").filter(pk__in=line_ids)}
    clean: Profile = {}
    total = Decimal("0.00")
    for raw_id, months in profile.items():
        line = lines.get(int(raw_id))
        if line is None or line.fund_id != fund.pk:
            raise ApplicationError(
                f"Budget line {raw_id} is not a line of {fund.code}; a contract commits lines of its own fund only.",
                extra={"field": "lines"},
            )
        if line.year_id != year.pk:
            raise ApplicationError(
                f"Budget line {line.code} is not in {year.code}.", extra={"field": "lines"}
            )
        if not rules.can_link_line(actor, line):
            raise NotAllowed(
                f"Budget line {line.code} is led by another organisation; only its lead "
                "commissioner may commit it.",
                extra={"field": "lines"},
            )
        row: dict[int, Decimal] = {}
        for n, amount in months.items():
            try:
                period = int(n)
            except (TypeError, ValueError):
                raise ApplicationError(
                    f"Period {n} is not 1 to 12.", extra={"field": "profile"}
                ) from None
            if not 1 <= period <= 12:
                raise ApplicationError(f"Period {n} is not 1 to 12.", extra={"field": "profile"})
            cell = _money(amount, "profile", f"The {line.code} M{period:02d} commitment")
            row[period] = row.get(period, Decimal("0.00")) + cell
            total += cell
        clean[line.pk] = row
    if total != value:
        raise ApplicationError(
            f"The commitment profile adds up to {format_money(total, pence=True)} but the "
            f"contract's value for {year.code} is {format_money(value, pence=True)}; they must "
            "match to the penny.",
            extra={"field": "profile", "profile_total": str(total), "value": str(value)},
        )
    return lines, clean


def _write_profile(contract: Contract, profile: Profile, actor: Actor) -> None:
    ContractLine.objects.filter(contract=contract).exclude(line_id__in=list(profile)).delete()
    for line_id, months in profile.items():
        cl, _ = ContractLine.objects.get_or_create(contract=contract, line_id=line_id)
        ContractCommitment.objects.filter(contract_line=cl).exclude(
            period_number__in=list(months)
        ).delete()
        for n, amount in months.items():
            cc = ContractCommitment.objects.filter(contract_line=cl, period_number=n).first()
            if cc is None:
                cc = ContractCommitment(contract_line=cl, period_number=n, amount=amount)
            elif cc.amount == amount:
                continue
            cc.amount = amount
            audit(cc, actor=actor, reason="Commitment profile")
            cc.save()


def _feed_commitments(contract: Contract, actor: Actor) -> None:
    """Planned and in-procurement contracts commit nothing yet; ended ones nothing more."""
    rows: Profile = {}
    if contract.status == Contract.Status.ACTIVE:
        for cc in ContractCommitment.objects.filter(
            contract_line__contract=contract
        ).select_related("contract_line"):
            rows.setdefault(cc.contract_line.line_id, {})[cc.period_number] = cc.amount
    commitments_replace(actor=actor, source_ref=contract.source_ref, rows=rows)


def _clean_contract_fields(
    *,
    provider: Any,
    service: Any,
    value: Any,
    start_date: dt.date | None,
    end_date: dt.date | None,
    status: str,
) -> tuple[Provider, Service, Decimal]:
    if isinstance(provider, Provider):
        provider_obj: Provider | None = provider
    else:
        provider_obj = None
        if provider not in (None, ""):
            try:
                provider_obj = Provider.objects.filter(pk=int(provider)).first()
            except (TypeError, ValueError):
                provider_obj = None
        if provider_obj is None:
            raise ApplicationError(
                "Choose a provider from the list, or add the provider first.",
                extra={"field": "provider"},
            )
    if not isinstance(service, Service):
        raise ApplicationError("Choose the service this contract buys.", extra={"field": "service"})
    amount = _money(value, "value", "The contract value")
    if start_date is None:
        raise ApplicationError("Enter the start date.", extra={"field": "start_date"})
    if end_date is None:
        raise ApplicationError("Enter the end date.", extra={"field": "end_date"})
    if end_date < start_date:
        raise ApplicationError(
            "The end date must be on or after the start date.", extra={"field": "end_date"}
        )
    _choice(status, Contract.Status, "status", "the contract's status")
    assert provider_obj is not None
    return provider_obj, service, amount


def contract_create(
    *,
    actor: Actor,
    fund: PooledFund,
    year: FinancialYear,
    reference: str,
    title: str,
    service: Service | None,
    provider: Provider | int | str | None,
    value: Decimal | str,
    start_date: dt.date | None,
    end_date: dt.date | None,
    profile: Mapping[Any, Mapping[Any, Any]],
    extension_options: str = "",
    status: str = Contract.Status.PLANNED,
) -> Contract:
    """Record a contract with its linked lines and monthly commitment profile (summing to value)."""
    _require_commissioner(actor, fund)
    reference = _text(reference, "reference", "the contract reference", max_length=40)
    title = _text(title, "title", "the contract title")
    provider_obj, service_obj, amount = _clean_contract_fields(
        provider=provider,
        service=service,
        value=value,
        start_date=start_date,
        end_date=end_date,
        status=status,
    )
    assert start_date is not None
    assert end_date is not None
    _lines, clean = _clean_profile(actor=actor, fund=fund, year=year, value=amount, profile=profile)
    if Contract.objects.filter(reference__iexact=reference).exists():
        raise ApplicationError(
            f"Contract reference {reference} is already used.", extra={"field": "reference"}
        )
    org_id = actor.organisation_id or fund.host_id
    contract = Contract(
        reference=reference,
        title=title,
        fund=fund,
        year=year,
        service=service_obj,
        provider=provider_obj,
        commissioner_id=org_id,
        value=amount,
        start_date=start_date,
        end_date=end_date,
        extension_options=_text(
            extension_options, "extension_options", "extension options", required=False
        ),
        status=status,
        created_by=actor,
    )
    audit(contract, actor=actor, reason="Contract recorded")
    try:
        with transaction.atomic():
            contract.save()
            _write_profile(contract, clean, actor)
            _feed_commitments(contract, actor)
    except IntegrityError:
        raise ApplicationError(
            f"Contract reference {reference} is already used.", extra={"field": "reference"}
        ) from None
    return contract


def contract_update(
    *,
    actor: Actor,
    contract: Contract,
    value: Decimal | str,
    start_date: dt.date | None,
    end_date: dt.date | None,
    profile: Mapping[Any, Mapping[Any, Any]],
    title: str | None = None,
    extension_options: str | None = None,
) -> Contract:
    """Change a contract's value, dates and profile; its commitments are rewritten."""
    if not rules.can_edit_contract(actor, contract):
        raise (
            NotFound("Contract not found.")
            if not rules.can_view_contract(actor, contract)
            else NotAllowed("Only the commissioning organisation may change this contract.")
        )
    if contract.status == Contract.Status.ENDED:
        raise ApplicationError("An ended contract cannot be changed.", extra={"field": "status"})
    _provider, _service, amount = _clean_contract_fields(
        provider=contract.provider,
        service=contract.service,
        value=value,
        start_date=start_date,
        end_date=end_date,
        status=contract.status,
    )
    _lines, clean = _clean_profile(
        actor=actor, fund=contract.fund, year=contract.year, value=amount, profile=profile
    )
    with transaction.atomic():
        locked = Contract.objects.select_for_update().get(pk=contract.pk)
        locked.value = amount
        locked.start_date = start_date  # type: ignore[assignment]
        locked.end_date = end_date  # type: ignore[assignment]
        if title is not None:
            locked.title = _text(title, "title", "the contract title")
        if extension_options is not None:
            locked.extension_options = _text(
                extension_options, "extension_options", "extension options", required=False
            )
        audit(locked, actor=actor, reason="Contract changed")
        locked.save()
        _write_profile(locked, clean, actor)
        _feed_commitments(locked, actor)
    return locked


def contract_status_set(
    *, actor: Actor, contract: Contract, status: str, reason: str = ""
) -> Contract:
    """Move a contract along planned -> in procurement -> active -> ended (Contract.TRANSITIONS)."""
    if not rules.can_edit_contract(actor, contract):
        if rules.can_view_contract(actor, contract):
            raise NotAllowed("Only the commissioning organisation may change this contract.")
        raise NotFound("Contract not found.")
    return _status_set(actor=actor, contract=contract, status=status, reason=reason)


def _status_set(*, actor: Actor, contract: Contract, status: str, reason: str) -> Contract:
    _choice(status, Contract.Status, "status", "the contract's status")
    with transaction.atomic():
        locked = Contract.objects.select_for_update().get(pk=contract.pk)
        if status == locked.status:
            return locked
        if status not in Contract.TRANSITIONS[locked.status]:
            raise ApplicationError(
                f"A contract that is {locked.get_status_display().lower()} cannot become "
                f"{Contract.Status(status).label.lower()}.",
                extra={"field": "status"},
            )
        locked.status = status
        audit(locked, actor=actor, reason=reason or f"Status: {status}")
        locked.save()
        _feed_commitments(locked, actor)
    return locked


# ---- contract decisions -------------------------------------------------------------------------


def contract_decision_record(
    *,
    actor: Actor,
    contract: Contract,
    kind: str,
    value: Decimal | str,
    summary: str,
    participants: str,
    conflicts_declared: str = "",
    conflicts_handling: str = "",
    procurement_route: str = ContractDecision.ProcurementRoute.NOT_APPLICABLE,
    new_end_date: dt.date | None = None,
) -> ContractDecision:
    """Record an award, extension, variation or termination, routed by value.

    Up to the fund's officer limit the recording commissioner decides and it takes effect now;
    above it the decision waits for the board that oversees the fund.
    """
    if not rules.can_edit_contract(actor, contract):
        if rules.can_view_contract(actor, contract):
            raise NotAllowed(
                "Only the commissioning organisation may take decisions on this contract."
            )
        raise NotFound("Contract not found.")
    kind = _choice(kind, ContractDecision.Kind, "kind", "the kind of decision")
    if contract.status == Contract.Status.ENDED:
        raise ApplicationError(
            "This contract has ended; record a new contract instead.", extra={"field": "kind"}
        )
    amount = _money(value, "value", "The decision's value")
    summary = _text(summary, "summary", "a summary of the decision", max_length=4000)
    participants = _text(
        participants, "participants", "who took part in the decision", max_length=4000
    )
    route_choice = _choice(
        procurement_route,
        ContractDecision.ProcurementRoute,
        "procurement_route",
        "the procurement route",
    )
    conflicts_declared = str(conflicts_declared or "").strip()
    conflicts_handling = str(conflicts_handling or "").strip()
    if conflicts_declared and not conflicts_handling:
        raise ApplicationError(
            "Say how the declared conflicts were handled.", extra={"field": "conflicts_handling"}
        )
    if kind in (ContractDecision.Kind.EXTENSION, ContractDecision.Kind.TERMINATION):
        if new_end_date is None:
            raise ApplicationError(
                "Enter the contract's new end date.", extra={"field": "new_end_date"}
            )
        if new_end_date < contract.start_date:
            raise ApplicationError(
                "The new end date must be on or after the contract's start date.",
                extra={"field": "new_end_date"},
            )
        if kind == ContractDecision.Kind.EXTENSION and new_end_date <= contract.end_date:
            raise ApplicationError(
                "An extension's new end date must be after the current end date.",
                extra={"field": "new_end_date"},
            )
    if kind == ContractDecision.Kind.AWARD and contract.status in (
        Contract.Status.ACTIVE,
        Contract.Status.ENDED,
    ):
        raise ApplicationError("This contract has already been awarded.", extra={"field": "kind"})
    fund = contract.fund
    within = amount <= fund.officer_virement_limit
    decision = ContractDecision(
        contract=contract,
        fund=fund,
        kind=kind,
        value=amount,
        new_end_date=new_end_date,
        procurement_route=route_choice,
        summary=summary,
        participants=participants,
        conflicts_declared=conflicts_declared,
        conflicts_handling=conflicts_handling,
        route=ContractDecision.Route.OFFICER if within else ContractDecision.Route.BOARD,
        status=ContractDecision.Status.APPROVED
        if within
        else ContractDecision.Status.AWAITING_BOARD,
        decided_on=timezone.localdate() if within else None,
        decided_by=actor if within else None,
        recorded_by=actor,
    )
    audit(decision, actor=actor, reason="Decision recorded")
    with transaction.atomic():
        decision.save()
        if within:
            _apply_decision(decision, actor)
    return decision


def _apply_decision(decision: ContractDecision, actor: Actor) -> None:
    contract = Contract.objects.select_for_update().get(pk=decision.contract_id)
    if decision.kind == ContractDecision.Kind.AWARD:
        _status_set(actor=actor, contract=contract, status=Contract.Status.ACTIVE, reason="Awarded")
    elif decision.kind == ContractDecision.Kind.EXTENSION:
        assert decision.new_end_date is not None
        contract.end_date = decision.new_end_date
        audit(contract, actor=actor, reason="Extended")
        contract.save()
    elif decision.kind == ContractDecision.Kind.TERMINATION:
        assert decision.new_end_date is not None
        contract.end_date = decision.new_end_date
        audit(contract, actor=actor, reason="Terminated")
        contract.save()
        _status_set(
            actor=actor, contract=contract, status=Contract.Status.ENDED, reason="Terminated"
        )
    # A variation is recorded; the new value and profile are entered with contract_update.


def contract_decision_approve_by_board(
    *, actor: Actor, decision: ContractDecision, decision_reference: str
) -> ContractDecision:
    """Called by boards.services.decision_record inside its transaction: the board approved."""
    with transaction.atomic():
        locked = ContractDecision.objects.select_for_update().get(pk=decision.pk)
        if locked.status != ContractDecision.Status.AWAITING_BOARD:
            raise ApplicationError("This contract decision is not awaiting a board decision.")
        locked.status = ContractDecision.Status.APPROVED
        locked.board_decision_reference = decision_reference[:40]
        locked.decided_on = timezone.localdate()
        locked.decided_by = actor
        audit(locked, actor=actor, reason=f"Approved by board {decision_reference}")
        locked.save()
        _apply_decision(locked, actor)
    decision.refresh_from_db()
    return locked


def contract_decision_reject_by_board(
    *, actor: Actor, decision: ContractDecision, decision_reference: str
) -> ContractDecision:
    """For boards.services.decision_record when the board rejects: the contract is unchanged."""
    with transaction.atomic():
        locked = ContractDecision.objects.select_for_update().get(pk=decision.pk)
        if locked.status != ContractDecision.Status.AWAITING_BOARD:
            raise ApplicationError("This contract decision is not awaiting a board decision.")
        locked.status = ContractDecision.Status.REJECTED
        locked.board_decision_reference = decision_reference[:40]
        locked.decided_on = timezone.localdate()
        locked.decided_by = actor
        audit(locked, actor=actor, reason=f"Rejected by board {decision_reference}")
        locked.save()
    decision.refresh_from_db()
    return locked


def contract_decision_withdraw(*, actor: Actor, decision: ContractDecision) -> ContractDecision:
    if not rules.can_edit_contract(actor, decision.contract):
        raise NotFound("Decision not found.")
    with transaction.atomic():
        locked = ContractDecision.objects.select_for_update().get(pk=decision.pk)
        if locked.status != ContractDecision.Status.AWAITING_BOARD:
            raise ApplicationError("Only a decision awaiting the board can be withdrawn.")
        locked.status = ContractDecision.Status.WITHDRAWN
        audit(locked, actor=actor, reason="Withdrawn")
        locked.save()
    return locked


# ---- Better Care Fund ---------------------------------------------------------------------------


def _require_bcf(actor: Actor, fund: PooledFund) -> None:
    _require_commissioner(actor, fund)
    if not fund.is_bcf:
        raise ApplicationError(
            f"{fund.code} is not a Better Care Fund pool.", extra={"field": "fund"}
        )


def bcf_scheme_save(
    *,
    actor: Actor,
    fund: PooledFund,
    year: FinancialYear,
    code: str,
    name: str,
    scheme_type: str,
    lead_commissioner: str,
    provider_type: str,
    area_of_spend: str,
    funding_source: str,
    planned_spend: Decimal | str,
    actuals: Mapping[int, Decimal | str] | None = None,
) -> BcfScheme:
    """Create or update (by fund, year and code) one BCF scheme."""
    _require_bcf(actor, fund)
    code = _text(code, "code", "the scheme code", max_length=20)
    values: dict[str, Any] = {
        "name": _text(name, "name", "the scheme name"),
        "scheme_type": _choice(scheme_type, BcfScheme.SchemeType, "scheme_type", "the scheme type"),
        "lead_commissioner": _choice(
            lead_commissioner,
            BcfScheme.LeadCommissioner,
            "lead_commissioner",
            "the lead commissioner",
        ),
        "provider_type": _choice(
            provider_type, BcfScheme.ProviderType, "provider_type", "the provider type"
        ),
        "area_of_spend": _choice(
            area_of_spend, BcfScheme.AreaOfSpend, "area_of_spend", "the area of spend"
        ),
        "funding_source": _choice(
            funding_source, BcfScheme.FundingSource, "funding_source", "the funding source"
        ),
        "planned_spend": _money(planned_spend, "planned_spend", "Planned spend"),
    }
    for q, amount in (actuals or {}).items():
        if int(q) not in (1, 2, 3, 4):
            raise ApplicationError(f"Quarter {q} is not 1 to 4.", extra={"field": "actuals"})
        values[f"actual_q{int(q)}"] = _money(amount, f"actual_q{int(q)}", f"Q{int(q)} actual spend")
    with transaction.atomic():
        scheme = (
            BcfScheme.objects.select_for_update().filter(fund=fund, year=year, code=code).first()
        )
        if scheme is None:
            scheme = BcfScheme(fund=fund, year=year, code=code)
        for key, value in values.items():
            setattr(scheme, key, value)
        audit(scheme, actor=actor, reason="BCF scheme saved")
        scheme.save()
    return scheme


def bcf_condition_set(
    *,
    actor: Actor,
    fund: PooledFund,
    year: FinancialYear,
    number: int,
    status: str,
    commentary: str = "",
) -> BcfCondition:
    _require_bcf(actor, fund)
    if number not in BCF_CONDITIONS:
        raise ApplicationError(f"Condition {number} is not 1 to 8.", extra={"field": "number"})
    status = _choice(status, BcfCondition.Status, "status", "whether the condition is met")
    with transaction.atomic():
        row, _ = BcfCondition.objects.select_for_update().get_or_create(
            fund=fund, year=year, number=number
        )
        row.status = status
        row.commentary = str(commentary or "").strip()
        audit(row, actor=actor, reason=f"Condition {number}: {status}")
        row.save()
    return row


def bcf_metric_set(
    *,
    actor: Actor,
    fund: PooledFund,
    year: FinancialYear,
    code: str,
    quarter: int,
    plan: Decimal | str,
    actual: Decimal | str | None = None,
    local_definition: str = "",
) -> BcfMetric:
    _require_bcf(actor, fund)
    if code not in BCF_METRICS:
        raise ApplicationError(f"{code} is not one of BCF1 to BCF6.", extra={"field": "code"})
    if quarter not in (1, 2, 3, 4):
        raise ApplicationError(f"Quarter {quarter} is not 1 to 4.", extra={"field": "quarter"})
    limit = Decimal("100000000")
    plan_value = _money(plan, "plan", "The plan")
    actual_value = None if actual in (None, "") else _money(actual, "actual", "The actual")
    for label, v in (("plan", plan_value), ("actual", actual_value)):
        if v is not None and v > limit:
            raise ApplicationError(
                f"The {label} must be between 0 and 100,000,000.", extra={"field": label}
            )
    with transaction.atomic():
        row = BcfMetric.objects.select_for_update().filter(
            fund=fund, year=year, code=code, quarter=quarter
        ).first() or BcfMetric(fund=fund, year=year, code=code, quarter=quarter)
        row.plan = plan_value
        row.actual = actual_value
        row.local_definition = str(local_definition or "").strip()[:200]
        audit(row, actor=actor, reason=f"{code} Q{quarter}")
        row.save()
    return row
