"""The one Celery app: queues, reliability settings and the beat schedule live in settings."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gmhsc.settings.local")

app = Celery("gmhsc")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
