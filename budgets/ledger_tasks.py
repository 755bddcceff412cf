"""Celery tasks for this area: thin, idempotent wrappers around services."""
