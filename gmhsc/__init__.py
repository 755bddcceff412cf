"""gmhsc: the system a pooled health and social care commissioning board runs on."""

from gmhsc.celery import app as celery_app

__all__ = ("celery_app",)
