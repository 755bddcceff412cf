"""Who may see and change what in commissioning. Views, API and services all ask these predicates.

Lists are scoped in `commissioning.selectors` (`contracts_visible_to` and friends) through
`budgets.selectors.funds_visible_to`, so a list and a detail page never disagree.
"""

from __future__ import annotations

from typing import Any

import rules

from budgets.rules import can_edit_line, can_view_fund, is_partner
from localities import roles


def _org_id(user: Any) -> int | None:
    return getattr(user, "organisation_id", None)


def may_commission(user: Any) -> bool:
    """Holds the commissioner role (or administers): may add providers and services."""
    return roles.is_administrator(user) or roles.has_role(user, roles.COMMISSIONER)


@rules.predicate
def can_commission_in_fund(user: Any, fund: Any) -> bool:
    """Commissioners of a partner organisation record contracts and BCF plans for the fund."""
    if fund is None or not getattr(user, "is_authenticated", False):
        return False
    if roles.is_administrator(user):
        return True
    return roles.has_role(user, roles.COMMISSIONER) and is_partner(user, fund)


@rules.predicate
def can_edit_contract(user: Any, contract: Any) -> bool:
    """The commissioning organisation's commissioners change its contracts (and administrators)."""
    if contract is None or not getattr(user, "is_authenticated", False):
        return False
    if roles.is_administrator(user):
        return True
    return (
        roles.has_role(user, roles.COMMISSIONER)
        and contract.commissioner_id == _org_id(user)
        and is_partner(user, contract.fund)
    )


def can_link_line(user: Any, line: Any) -> bool:
    """A contract may commit only lines the commissioner's organisation leads."""
    return roles.is_administrator(user) or bool(can_edit_line(user, line))


@rules.predicate
def can_view_contract(user: Any, contract: Any) -> bool:
    return contract is not None and bool(can_view_fund(user, contract.fund))


rules.add_perm("commissioning.view_contract", can_view_contract)
rules.add_perm("commissioning.change_contract", can_edit_contract)
rules.add_perm("commissioning.add_contract", can_commission_in_fund)
