"""factory-boy factories for every model. Apps' later models add theirs below their section."""

from __future__ import annotations

import factory
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from localities.models import Locality, Neighbourhood, Organisation, User


class LocalityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Locality
        django_get_or_create = ("gss_code",)

    gss_code = factory.Sequence(lambda n: f"E0899{n:04d}")
    name = factory.Sequence(lambda n: f"Locality {n}")
    population_mid2011 = 200_000
    population_mid2015 = 210_000


class NeighbourhoodFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Neighbourhood

    locality = factory.SubFactory(LocalityFactory)
    name = factory.Sequence(lambda n: f"Neighbourhood {n}")
    population = 40_000


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"T{n:04d}")
    code_system = Organisation.CodeSystem.LOCAL
    name = factory.Sequence(lambda n: f"Test organisation {n}")
    kind = Organisation.Kind.CCG


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    organisation = factory.SubFactory(OrganisationFactory)
    password = factory.django.Password("correct-horse-battery")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if not create or not extracted:
            return
        for name in extracted:
            group, _ = Group.objects.get_or_create(name=name)
            self.groups.add(group)
        if hasattr(self, "_gmhsc_roles"):
            del self._gmhsc_roles


def api_as(user: User) -> APIClient:
    """An API client signed in as `user` (no session, no CSRF)."""
    client = APIClient()
    client.force_authenticate(user)
    return client
