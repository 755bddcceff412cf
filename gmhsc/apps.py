from django.apps import AppConfig


class GmhscConfig(AppConfig):
    """The project package as an app: it composes the others (seeding, health); it owns no models."""

    name = "gmhsc"
    verbose_name = "gmhsc"
