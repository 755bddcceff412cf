"""One error vocabulary: services raise these; one API handler and one HTML path present them."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
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
    if isinstance(exc, PermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "code" not in response.data:
        code = getattr(exc, "default_code", "error")
        response.data = {"code": code, **response.data}
    return response
