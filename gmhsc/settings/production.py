"""Production: everything from the environment; refuses to start with an unsafe configuration."""

from gmhsc.settings.base import *  # noqa: F403
from gmhsc.settings.base import SECRET_KEY, config_error, env

DEBUG = False
if not SECRET_KEY:
    config_error("SECRET_KEY is not set; set it to a long random value.")
if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("django-insecure-"):
    config_error("SECRET_KEY is too weak; use at least 50 random characters.")
if not env.str("DATABASE_URL", default=""):
    config_error("DATABASE_URL is not set; production runs on PostgreSQL.")

SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
