"""WSGI entry point (gunicorn gmhsc.wsgi). Checks the database once so a bad URL fails at start."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gmhsc.settings.production")

application = get_wsgi_application()

from gmhsc.startup import check_database  # noqa: E402

check_database()
