"""One error vocabulary: services raise these; one API handler and one HTML path present them."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, models, transaction
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class ApplicationError(Exception):
    """A business rule refused the action. `message` is written for the user."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    code: str = "invalid"

    def __init__(self, message: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}

    def field_or(self, default: str) -> str:
        """The field the message is about (extra["field"]), else `default`: where a page shows it."""
        return str(self.extra.get("field", default))


class NotFound(ApplicationError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"


class NotAllowed(ApplicationError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "not_allowed"


class Conflict(ApplicationError):
    """The object changed since the user read it (optimistic locking) or a key was reused."""

    status_code: int = status.HTTP_409_CONFLICT
    code = "conflict"


class StaleVersion(Conflict):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    code = "stale_version"


class PeriodClosed(ApplicationError):
    code = "period_closed"


def save_or_conflict(
    obj: models.Model, message: str, *, extra: dict[str, Any] | None = None
) -> None:
    """Save `obj` in a savepoint: a unique constraint it breaks (someone saved the same key a
    moment ago) is a Conflict saying `message`, and the caller's transaction carries on intact."""
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError:
        raise Conflict(message, extra=extra) from None


class RowErrors(ApplicationError):
    """A batch with bad rows: nothing was written. `errors` lists (row, field, message)."""

    code = "row_errors"

    def __init__(self, message: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(message, extra={"errors": errors})
        self.errors = errors


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        body = {"code": exc.code, "detail": exc.message, **exc.extra}
        return Response(body, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        detail: Any = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        return Response({"code": "invalid", "detail": detail}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)
        body = {
            "code": "too_large",
            "detail": f"The request body is larger than {limit} MB. Send a smaller batch, or "
            "upload the rows as a file.",
        }
        return Response(body, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, SuspiciousOperation):  # too many fields or files, a malformed upload
        return Response(
            {"code": "bad_request", "detail": str(exc) or "The request could not be read."},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, PermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict):
        # Every error body has a code and a plain-language detail (the API's error contract);
        # field errors stay under their field names beside them.
        data = response.data
        if "code" not in data:
            data = {"code": getattr(exc, "default_code", "error"), **data}
        if "detail" not in data:
            data["detail"] = _first_field_error(data)
        response.data = data
    return response


def _first_field_error(data: dict[str, Any]) -> str:
    for name, value in data.items():
        if name == "code":
            continue
        message = value
        while isinstance(message, list | tuple) and message:
            message = message[0]
        if isinstance(message, dict):
            return f"{name}: check the fields named in this answer."
        label = "" if name == "non_field_errors" else f"{name}: "
        return f"{label}{message}"
    return "The request is not valid."
