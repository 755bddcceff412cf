"""`make run`: SQLite and a local worker unless DATABASE_URL / REDIS_URL say otherwise.

Without REDIS_URL, background work (month close, board packs, exports, large ledger imports,
recomputes) goes to a Celery worker over kombu's filesystem transport: messages are files in
GMHSC_LOCAL_BROKER_DIR (default var/broker/), and `scripts/run.sh` starts the worker (with beat
inside it) beside the web server and stops it by pid. So a request never waits for that work,
and the progress pages are the same as in production. The cache is a folder too
(var/cache/), so the worker's heartbeat reaches /health/. CELERY_TASK_ALWAYS_EAGER=true runs
tasks in-process instead (no worker needed).
"""

from pathlib import Path

from gmhsc.settings.base import *  # noqa: F403
from gmhsc.settings.base import BASE_DIR, CELERY_BROKER_URL, STORAGES, env

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str(
    "SECRET_KEY", default="local-development-key-not-for-production-use-0123456789"
)
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}

if not CELERY_BROKER_URL and not env.bool("CELERY_TASK_ALWAYS_EAGER", default=False):
    GMHSC_LOCAL_BROKER_DIR = Path(
        env.str("GMHSC_LOCAL_BROKER_DIR", default=str(BASE_DIR / "var" / "broker"))
    )
    GMHSC_LOCAL_BROKER_DIR.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(GMHSC_LOCAL_BROKER_DIR),
        "data_folder_out": str(GMHSC_LOCAL_BROKER_DIR),
        "control_folder": str(GMHSC_LOCAL_BROKER_DIR / "control"),
    }
    CELERY_TASK_ALWAYS_EAGER = False
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(BASE_DIR / "var" / "cache"),
        }
    }
