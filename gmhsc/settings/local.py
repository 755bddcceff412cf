"""`make run`: SQLite and in-process tasks unless DATABASE_URL / REDIS_URL say otherwise."""

from gmhsc.settings.base import *  # noqa: F403
from gmhsc.settings.base import STORAGES, env

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str(
    "SECRET_KEY", default="local-development-key-not-for-production-use-0123456789"
)
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
