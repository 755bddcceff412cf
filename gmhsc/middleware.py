"""Request ids: every log line and every response carries the id of the request it belongs to."""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from collections.abc import Callable

from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.http.multipartparser import MultiPartParserError

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    header = "X-Request-ID"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get(self.header, "")
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        request.request_id = request_id  # type: ignore[attr-defined]
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response[self.header] = request_id
        return response


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # Django logs 4xx/5xx responses (django.request) after the middleware chain has returned,
        # with the request in `extra`; take the id from there when the context has none.
        request_id = request_id_var.get()
        if request_id == "-":
            request_id = getattr(getattr(record, "request", None), "request_id", "-")
        record.request_id = request_id
        return True


class RefuseNulMiddleware:
    """A NUL character in a request's query string or form fields is refused with 400 before any
    view runs. No field can hold it and PostgreSQL cannot even compare it, so it reaching a
    lookup (`?fund=%00`) would be a server error. Other control characters are refused by each
    field's cleaner, with the field's message (gmhsc.text)."""

    message = "The request contains the NUL character (U+0000), which no field can hold."

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._has_nul(request):
            if request.path.startswith("/api/"):
                return JsonResponse({"code": "invalid", "detail": self.message}, status=400)
            return HttpResponseBadRequest(self.message, content_type="text/plain; charset=utf-8")
        return self.get_response(request)

    @staticmethod
    def _has_nul(request: HttpRequest) -> bool:
        if "\x00" in request.path or "%00" in request.META.get("QUERY_STRING", ""):
            return True
        content_type = request.META.get("CONTENT_TYPE", "")
        if request.method == "POST" and content_type.startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            try:
                form = request.POST
            except (SuspiciousOperation, MultiPartParserError):
                return False  # too large or malformed: the view's parsing refuses it
            return any(
                "\x00" in key or any("\x00" in value for value in values)
                for key, values in form.lists()
            )
        return False
