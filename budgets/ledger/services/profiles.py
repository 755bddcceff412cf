"""Import profiles: create, change, copy, remove, share as JSON, and load the shipped ones.

A finance officer keeps their own organisation's profiles; administrators keep anyone's. The
profiles that ship with gmhsc (no organisation) change only through `seed_import_profiles`, from
budgets/data/import_profiles/; an organisation copies one to adapt it. Every change is audited, so
a profile's earlier versions stay in its history.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import ProtectedError

from budgets import rules
from budgets.ledger.profiles import ProfileSpec, shipped_profiles
from budgets.models import ImportProfile
from gmhsc.audit import audit
from gmhsc.errors import Conflict, NotAllowed, NotFound, save_or_conflict
from localities.actors import Actor
from localities.models import Organisation


def require_profile_keeper(actor: Actor, organisation: Organisation) -> None:
    if rules.may_post_for(actor, organisation):
        return
    if getattr(actor, "organisation_id", None) != organisation.pk:
        raise NotFound("Organisation not found.")
    raise NotAllowed(
        f"Only a finance officer of {organisation.name} can change its import profiles."
    )


def _keeper_of(actor: Actor, profile: ImportProfile) -> Organisation:
    if profile.organisation is None:
        raise NotAllowed(
            f"{profile.name} ships with gmhsc and cannot be changed; copy it to your "
            "organisation and change the copy."
        )
    require_profile_keeper(actor, profile.organisation)
    return profile.organisation


def _save(profile: ImportProfile, *, actor: Actor, reason: str) -> ImportProfile:
    audit(profile, actor=actor, reason=reason)
    save_or_conflict(
        profile,
        f"There is already an import profile called {profile.name}; choose another name.",
        extra={"field": "name"},
    )
    return profile


def profile_create(
    *, actor: Actor, organisation: Organisation, data: dict[str, Any], reason: str = ""
) -> ImportProfile:
    """A new profile of `organisation` from its settings (ProfileSpec's shape), checked first."""
    require_profile_keeper(actor, organisation)
    spec = ProfileSpec.from_data(data)
    if ImportProfile.objects.filter(organisation=organisation, name=spec.name).exists():
        raise Conflict(
            f"{organisation.name} already has an import profile called {spec.name}; choose "
            "another name.",
            extra={"field": "name"},
        )
    profile = ImportProfile(
        organisation=organisation, name=spec.name, title=spec.title, spec=spec.to_data()
    )
    return _save(profile, actor=actor, reason=reason or "Import profile created")


def profile_update(
    *, actor: Actor, profile: ImportProfile, data: dict[str, Any], reason: str = ""
) -> ImportProfile:
    """Change a profile's settings (its name too); the earlier version stays in its history."""
    organisation = _keeper_of(actor, profile)
    spec = ProfileSpec.from_data(data)
    clash = (
        ImportProfile.objects.filter(organisation=organisation, name=spec.name)
        .exclude(pk=profile.pk)
        .exists()
    )
    if clash:
        raise Conflict(
            f"{organisation.name} already has an import profile called {spec.name}; choose "
            "another name.",
            extra={"field": "name"},
        )
    if profile.spec == spec.to_data() and profile.name == spec.name:
        return profile
    profile.name, profile.title, profile.spec = spec.name, spec.title, spec.to_data()
    return _save(profile, actor=actor, reason=reason or "Import profile changed")


def profile_copy(
    *, actor: Actor, profile: ImportProfile, organisation: Organisation, name: str = ""
) -> ImportProfile:
    """A copy of any profile the actor can see, as a profile of `organisation` to adapt."""
    data = dict(profile.spec)
    data["name"] = name or profile.name
    return profile_create(
        actor=actor,
        organisation=organisation,
        data=data,
        reason=f"Copied from {profile.name}",
    )


def profile_delete(*, actor: Actor, profile: ImportProfile, reason: str = "") -> None:
    """Remove a profile no import used (an import keeps the profile it was read with)."""
    _keeper_of(actor, profile)
    if profile.imports.exists():
        raise Conflict(
            f"{profile.name} was used by {profile.imports.count():,} imports, which keep it; it "
            "cannot be removed. Rename it or change it instead."
        )
    with transaction.atomic():
        audit(profile, actor=actor, reason=reason or "Import profile removed")
        try:
            profile.delete()
        except ProtectedError:
            raise Conflict(f"{profile.name} is in use and cannot be removed.") from None


def profile_import_json(
    *, actor: Actor, organisation: Organisation, text: str | bytes, name: str = ""
) -> ImportProfile:
    """A profile shared as JSON (from `profile_export_json`) as a new profile of `organisation`."""
    require_profile_keeper(actor, organisation)
    spec = ProfileSpec.from_json(text, name=name or None)
    return profile_create(
        actor=actor, organisation=organisation, data=spec.to_data(), reason="Imported from JSON"
    )


def profile_export_json(profile: ImportProfile) -> str:
    spec = ProfileSpec.from_data(profile.spec, name=profile.name)
    return spec.to_json()


def seed_import_profiles() -> int:
    """Load the shipped profiles (budgets/data/import_profiles/*.json): created if missing,
    brought up to date if the file changed, otherwise left alone. Safe to run again."""
    count = 0
    for spec in shipped_profiles():
        data = spec.to_data()
        profile = ImportProfile.objects.filter(organisation=None, name=spec.name).first()
        if profile is None:
            profile = ImportProfile(organisation=None, name=spec.name)
            reason = "Shipped with gmhsc"
        elif profile.spec == data and profile.title == spec.title:
            count += 1
            continue
        else:
            reason = "Shipped profile updated"
        profile.title, profile.spec = spec.title, data
        audit(profile, actor=None, reason=reason)  # no person: the release changed it
        profile.save()
        count += 1
    return count
