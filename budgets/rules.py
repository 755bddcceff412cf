"""Who may see and change what in budgets. Views, API and services all ask these predicates.

Scoping for lists lives in `budgets.selectors` (`funds_visible_to`, `lines_visible_to`); these
predicates decide single objects, so a detail view and a list never disagree.
"""

from __future__ import annotations

from typing import Any

import rules

from localities import roles


def _org_id(user: Any) -> int | None:
    return getattr(user, "organisation_id", None)


def is_partner(user: Any, fund: Any) -> bool:
    """The user's organisation hosts the fund or contributes to it."""
    org_id = _org_id(user)
    if org_id is None:
        return False
    if fund.host_id == org_id:
        return True
    return fund.contributions.filter(partner_id=org_id).exists()


@rules.predicate
def can_view_fund(user: Any, fund: Any) -> bool:
    if roles.is_administrator(user):
        return True
    if fund is None or not getattr(user, "is_authenticated", False):
        return False
    if is_partner(user, fund):
        return True
    return (
        roles.has_role(user, roles.BOARD_MEMBER)
        and fund.boards.filter(memberships__person=user).exists()
    )


@rules.predicate
def is_host_finance_officer(user: Any, fund: Any) -> bool:
    """Finance officer of the fund's host organisation: approves budgets, closes periods, approves virements."""
    return (
        fund is not None
        and roles.has_role(user, roles.FINANCE_OFFICER)
        and fund.host_id == _org_id(user)
    )


@rules.predicate
def is_partner_finance_officer(user: Any, fund: Any) -> bool:
    return (
        fund is not None and roles.has_role(user, roles.FINANCE_OFFICER) and is_partner(user, fund)
    )


@rules.predicate
def can_edit_line(user: Any, line: Any) -> bool:
    """A commissioner edits lines their organisation leads, in funds their organisation is a partner of."""
    if line is None:
        return False
    return (
        roles.has_role(user, roles.COMMISSIONER)
        and line.lead_commissioner_id == _org_id(user)
        and is_partner(user, line.fund)
    )


@rules.predicate
def may_forecast_line(user: Any, line: Any) -> bool:
    """Sets the line's forecast outturn and commentary: a commissioner of its lead organisation
    (as can_edit_line), or the fund's host finance officer."""
    return line is not None and (
        bool(can_edit_line(user, line)) or bool(is_host_finance_officer(user, line.fund))
    )


@rules.predicate
def can_view_line(user: Any, line: Any) -> bool:
    return line is not None and can_view_fund(user, line.fund)


@rules.predicate
def can_post_spend(user: Any, organisation: Any) -> bool:
    """Finance officers post their own organisation's ledger."""
    return (
        organisation is not None
        and roles.has_role(user, roles.FINANCE_OFFICER)
        and organisation.pk == _org_id(user)
    )


@rules.predicate
def acts_for_host_finance(user: Any, fund: Any) -> bool:
    """The host's finance officer, or an administrator: changes contributions, adjusts approved
    budgets, decides virements, imports budgets for every partner."""
    return bool(is_host_finance_officer(user, fund)) or roles.is_administrator(user)


@rules.predicate
def may_post_for(user: Any, organisation: Any) -> bool:
    """Posts, reverses and maps an organisation's ledger and exports its spend transparency file:
    its finance officers, or an administrator."""
    return bool(can_post_spend(user, organisation)) or roles.is_administrator(user)


@rules.predicate
def is_administrator(user: Any) -> bool:
    return roles.is_administrator(user)


rules.add_perm("budgets.view_fund", can_view_fund)
rules.add_perm("budgets.approve_budget", is_host_finance_officer)
rules.add_perm("budgets.close_period", is_host_finance_officer)
rules.add_perm("budgets.reopen_period", is_administrator)
rules.add_perm("budgets.approve_virement", is_host_finance_officer)
rules.add_perm("budgets.export_fund", can_view_fund)
rules.add_perm("budgets.view_line", can_view_line)
rules.add_perm("budgets.edit_line", can_edit_line)
rules.add_perm("budgets.forecast_line", may_forecast_line)
rules.add_perm("budgets.post_spend", can_post_spend)
