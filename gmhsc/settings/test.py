"""pytest: PostgreSQL when DATABASE_URL is set (as `make test` does), otherwise SQLite."""

from pathlib import Path

from gmhsc.settings.base import *  # noqa: F403
from gmhsc.settings.base import REST_FRAMEWORK, STORAGES, env

DEBUG = False
SECRET_KEY = "test-key-not-secret-0123456789-abcdefghijklmnopqrstuvwxyz"  # noqa: S105
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
AXES_ENABLED = True
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {
        "posting": "100000/min",
        "import": "100000/min",
        "export": "100000/min",
    },
}

# Unit tests run tasks in-process; system tests start a real worker and switch this off.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default="/tmp/gmhsc-test-media"))
