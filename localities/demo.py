"""Demo people: users for every role in several organisations. Deterministic and idempotent."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group

from localities import roles
from localities.models import Organisation, User


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    organisation_code: str
    roles: tuple[str, ...]
    job_title: str


DEMO_USERS: list[DemoUser] = [
    DemoUser("admin", "Alex", "Admin", "E47000001", (roles.ADMINISTRATOR,), "gmhsc administrator"),
    DemoUser(
        "comm.manchester",
        "Priya",
        "Shah",
        "E08000003",
        (roles.COMMISSIONER,),
        "Commissioning manager, adult social care",
    ),
    DemoUser(
        "comm.centralmcr", "Tom", "Byrne", "00W", (roles.COMMISSIONER,), "Head of commissioning"
    ),
    DemoUser("comm.bolton", "Grace", "Okafor", "00T", (roles.COMMISSIONER,), "Commissioning lead"),
    DemoUser("comm.tameside", "Owen", "Hughes", "01Y", (roles.COMMISSIONER,), "Commissioning lead"),
    DemoUser(
        "finance.gm", "Helen", "Ward", "E47000001", (roles.FINANCE_OFFICER,), "Pool finance manager"
    ),
    DemoUser(
        "finance.manchester",
        "Sam",
        "Patel",
        "E08000003",
        (roles.FINANCE_OFFICER,),
        "Strategic finance lead",
    ),
    DemoUser(
        "finance.bolton",
        "Chris",
        "Lee",
        "E08000001",
        (roles.FINANCE_OFFICER,),
        "Finance business partner",
    ),
    DemoUser(
        "board.chair",
        "Jon",
        "Rouse",
        "X24",
        (roles.BOARD_MEMBER,),
        "Chair, joint commissioning board",
    ),
    DemoUser(
        "board.manchester",
        "Mike",
        "Eeckelaers",
        "00W",
        (roles.BOARD_MEMBER, roles.COMMISSIONER),
        "Chief officer",
    ),
    DemoUser("board.bolton", "Su", "Long", "00T", (roles.BOARD_MEMBER,), "Chief officer"),
]


def seed_users() -> list[DemoUser]:
    roles.ensure_role_groups()
    groups = {g.name: g for g in Group.objects.filter(name__in=roles.ROLES)}
    organisations = {o.code: o for o in Organisation.objects.all()}
    # Every demo user has the same published password, so it is hashed once (about half a second
    # of PBKDF2 each) and the one hash is given to each new user.
    encoded = make_password(settings.GMHSC_DEMO_PASSWORD)
    for spec in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=spec.username,
            defaults={
                "first_name": spec.first_name,
                "last_name": spec.last_name,
                "email": f"{spec.username}@example.org",
                "organisation": organisations[spec.organisation_code],
                "job_title": spec.job_title,
            },
        )
        if created:
            user.password = encoded
        user.is_staff = roles.ADMINISTRATOR in spec.roles
        user.is_superuser = roles.ADMINISTRATOR in spec.roles
        user.save()
        user.groups.set([groups[r] for r in spec.roles])
    return DEMO_USERS


def login_table() -> str:
    width = max(len(u.username) for u in DEMO_USERS)
    lines = [f"Demo logins (password for all: {settings.GMHSC_DEMO_PASSWORD})"]
    for spec in DEMO_USERS:
        role_text = ", ".join(roles.ROLES[r] for r in spec.roles)
        lines.append(f"  {spec.username.ljust(width)}  {role_text:<32} {spec.organisation_code}")
    return "\n".join(lines)
