"""Object-level rules for localities. Later apps build on these predicates."""

from __future__ import annotations

import rules

from localities import roles


@rules.predicate
def is_commissioner(user) -> bool:
    return roles.has_role(user, roles.COMMISSIONER)


@rules.predicate
def is_finance_officer(user) -> bool:
    return roles.has_role(user, roles.FINANCE_OFFICER)


@rules.predicate
def is_board_member(user) -> bool:
    return roles.has_role(user, roles.BOARD_MEMBER)


@rules.predicate
def is_administrator(user) -> bool:
    return roles.is_administrator(user)


@rules.predicate
def works_for(user, organisation) -> bool:
    return organisation is not None and getattr(user, "organisation_id", None) == organisation.pk


rules.add_perm("localities.view_organisation", rules.is_authenticated)
rules.add_perm("localities.change_organisation", is_administrator)
