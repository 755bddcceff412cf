"""What the ledger's API endpoints share: the error shapes, the organisation a
request acts for, who may write, throttles on writes, and small parameter helpers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Model
from drf_spectacular.utils import OpenApiResponse
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle, ScopedRateThrottle

from gmhsc.errors import ApplicationError, NotAllowed, NotFound
from localities import roles
from localities.actors import actor_of
from localities.models import Organisation


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()


class RowErrorItem(serializers.Serializer):
    row = serializers.IntegerField()
    field = serializers.CharField()
    message = serializers.CharField()


class RowErrorsSerializer(ErrorSerializer):
    # Present when rows were checked; a request refused as a whole has code and detail only.
    errors = RowErrorItem(many=True, required=False)  # type: ignore[assignment]


ERRORS = {
    400: OpenApiResponse(RowErrorsSerializer, description="Bad rows: nothing was posted."),
    403: OpenApiResponse(ErrorSerializer, description="Not a finance officer of the organisation."),
    404: OpenApiResponse(ErrorSerializer, description="Not found (or another organisation's)."),
    429: OpenApiResponse(ErrorSerializer, description="Too many requests (throttled)."),
}


def acting_organisation(user: Any, code: Any) -> Organisation:
    """The organisation a request acts for: given by code (must be the user's own unless an
    administrator), else the user's own."""
    if code:
        org = Organisation.objects.filter(code=str(code).strip()).first()
        if org is None or (not roles.is_administrator(user) and org.pk != user.organisation_id):
            raise NotFound(f"Organisation {code} not found.")
        return org
    org = user.organisation
    if org is None:
        raise ApplicationError("Name the organisation.", extra={"field": "organisation"})
    return org


def require_finance_role(user: Any) -> None:
    """Writes are for finance officers and administrators; refused before the body is read."""
    if not (roles.has_role(user, roles.FINANCE_OFFICER) or roles.is_administrator(user)):
        raise NotAllowed("Only finance officers can post spend or keep ledger mappings.")


def error_body(exc: ApplicationError) -> dict[str, Any]:
    return {"code": exc.code, "detail": exc.message, **exc.extra}


class ScopedActionsMixin:
    """ScopedRateThrottle on the writing actions only; `throttled_actions` maps action -> scope."""

    throttled_actions: dict[str, str] = {}
    action: str  # set by the viewset for each request (ViewSetMixin)

    def get_throttles(self) -> list[BaseThrottle]:
        scope = self.throttled_actions.get(self.action)
        if scope is None:
            return []
        self.throttle_scope = scope
        return [ScopedRateThrottle()]


def int_param(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApplicationError(
            f"'{value}' is not a valid {name} id.", extra={"field": name}
        ) from None


def valid(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class OwnedRowsViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """List and read the rows `get_queryset` lets the user see; another organisation's row is
    404. Changes are for finance officers, checked after the row is found (so others get 404)."""

    id_name: str  # the row as an error names its id and the services take it: "mapping"
    not_found: str  # "Mapping not found."

    def get_object(self) -> Any:
        found = self.get_queryset().filter(pk=int_param(self.kwargs["pk"], self.id_name)).first()
        if found is None:
            raise NotFound(self.not_found)
        return found

    def organisation_input(
        self, request: Request, input_class: type[serializers.Serializer]
    ) -> tuple[Organisation, dict[str, Any]]:
        """A new row's checks: the role (before the body is read), the body, and the organisation
        it is for (its `organisation` field, else the user's own)."""
        require_finance_role(request.user)
        data = valid(input_class, request.data)
        return acting_organisation(request.user, data.get("organisation")), data

    def writable_object(self) -> Any:
        found = self.get_object()
        require_finance_role(self.request.user)
        return found

    def removed(self, request: Request, delete: Callable[..., None]) -> Response:
        """DELETE: the service removes the row (it refuses one still in use); 204."""
        delete(actor=actor_of(request), **{self.id_name: self.writable_object()})
        return Response(status=status.HTTP_204_NO_CONTENT)

    def changed(
        self,
        request: Request,
        input_class: type[serializers.Serializer],
        change: Callable[..., Model],
        **fields: Callable[[dict[str, Any]], Any],
    ) -> Response:
        """PUT/PATCH: the row, the role, the body; `fields` build the service's arguments from
        the body; the changed row in the list's shape."""
        found = self.writable_object()
        data = valid(input_class, request.data)
        kwargs = {name: build(data) for name, build in fields.items()}
        row = change(
            actor=actor_of(request), reason=data["reason"], **kwargs, **{self.id_name: found}
        )
        return Response(self.get_serializer(row).data)
