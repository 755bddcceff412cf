from django.apps import AppConfig


class LocalitiesConfig(AppConfig):
    name = "localities"
    default_auto_field = "django.db.models.BigAutoField"
