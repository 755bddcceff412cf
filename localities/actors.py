"""Who acts: the person a service acts for. Services take `actor: Actor` and ask `rules` and
`localities.roles` what that person may do; views pass `request.user` once signed in."""

from __future__ import annotations

from typing import TypeAlias

from django.core.exceptions import PermissionDenied
from django.core.management.base import CommandError
from django.db.models import Q
from django.http import HttpRequest

from gmhsc.errors import NotAllowed
from localities import roles
from localities.models import User

Actor: TypeAlias = User


def actor_of(request: HttpRequest) -> Actor:
    """The signed-in person behind a request. Every page and endpoint that acts requires sign-in,
    so an anonymous request reaching a service is a wiring fault: refuse it, never act as nobody."""
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise PermissionDenied("Sign in first.")
    return user


def command_actor(username: str | None) -> Actor:
    """Who a management command acts as: the named active user, or else the first administrator.
    Commands record their changes against a person like every other write."""
    users = User.objects.filter(is_active=True)
    if username:
        user = users.filter(username=username).first()
        if user is None:
            raise CommandError(f"No active user {username}.")
        return user
    admin = (
        users.filter(Q(groups__name=roles.ADMINISTRATOR) | Q(is_superuser=True))
        .order_by("pk")
        .first()
    )
    if admin is None:
        raise CommandError("Name the user to act as with --user USERNAME.")
    return admin


def refuse_own_request(
    actor: Actor, requester_id: int | None, *, request: str, approval: str
) -> None:
    """Segregation of duties: nobody approves what they asked for themselves.

    `request` says what the actor did ("asked for this virement"), `approval` what they now try
    ("approve it"). Raises NotAllowed (403) with a message that says someone else must act.
    """
    if requester_id is not None and requester_id == actor.pk:
        raise NotAllowed(
            f"You {request} yourself, so you cannot {approval}: someone else who may do so must."
        )
