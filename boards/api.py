"""Read-only API for boards: boards, meetings (with visible items), decisions, registers and the
dashboard figures (money as strings, with the time the figures were calculated)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from boards import rules, selectors
from boards.models import (
    AgendaItem,
    Board,
    Decision,
    GiftHospitality,
    Interest,
    Meeting,
    Membership,
)
from boards.views import DashboardChoice, dashboard_for
from localities import roles


class BoardSerializer(serializers.ModelSerializer):
    reports_to: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )
    funds: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="code", many=True, read_only=True
    )

    class Meta:
        model = Board
        fields = [
            "id",
            "code",
            "name",
            "kind",
            "reports_to",
            "delegated_limit",
            "funds",
            "legal_basis",
            "quorum_rule",
            "papers_deadline_working_days",
        ]


class AgendaItemSerializer(serializers.ModelSerializer):
    organisations: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="code", many=True, read_only=True
    )
    has_paper = serializers.SerializerMethodField()

    class Meta:
        model = AgendaItem
        fields = [
            "id",
            "order",
            "title",
            "purpose",
            "presenter",
            "is_private",
            "has_paper",
            "paper_pages",
            "organisations",
        ]

    def get_has_paper(self, obj: AgendaItem) -> bool:
        return bool(obj.paper)


class MeetingSerializer(serializers.ModelSerializer):
    board: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    items = serializers.SerializerMethodField()
    papers_deadline = serializers.DateField(read_only=True)

    class Meta:
        model = Meeting
        fields = [
            "id",
            "board",
            "title",
            "starts_at",
            "location",
            "status",
            "papers_deadline",
            "minutes",
            "items",
        ]

    def get_items(self, obj: Meeting) -> list[dict[str, Any]]:
        user = self.context["request"].user
        return AgendaItemSerializer(selectors.items_visible_to(user, obj), many=True).data  # type: ignore[return-value]


class DecisionSerializer(serializers.ModelSerializer):
    board: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    funds: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="code", many=True, read_only=True
    )

    class Meta:
        model = Decision
        fields = [
            "id",
            "reference",
            "board",
            "meeting",
            "item",
            "text",
            "outcome",
            "amount",
            "funds",
            "delegated_authority",
            "conflicts_declared",
            "conflicts_handling",
            "subject_type",
            "subject_id",
            "recorded_at",
        ]


class InterestSerializer(serializers.ModelSerializer):
    person = serializers.CharField(source="person.get_full_name", read_only=True)
    related_organisation: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    organisation = serializers.CharField(source="organisation_label", read_only=True)

    class Meta:
        model = Interest
        fields = [
            "id",
            "person",
            "position",
            "kind",
            "description",
            "relationship",
            "related_organisation",
            "organisation",
            "valid_from",
            "valid_to",
            "mitigation",
            "consent_to_publish",
            "declared_on",
        ]


class GiftSerializer(serializers.ModelSerializer):
    person = serializers.CharField(source="person.get_full_name", read_only=True)

    class Meta:
        model = GiftHospitality
        fields = [
            "id",
            "person",
            "kind",
            "description",
            "offered_by",
            "from_supplier",
            "value",
            "offered_on",
            "outcome",
            "must_declare",
            "accepted",
        ]


class BoardViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = BoardSerializer

    def get_queryset(self) -> QuerySet[Board]:
        return (
            selectors.boards_visible_to(self.request.user)
            .prefetch_related("funds")
            .order_by("code")
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("year", str, description="e.g. 2016/17 (default: each fund's own)"),
            OpenApiParameter("period", str, description="e.g. 2016/17-M05 (default: each fund's)"),
        ],
        responses={200: dict},
    )
    @action(detail=True, methods=["get"])
    def dashboard(self, request: Request, pk: str | None = None) -> Response:
        """Headline figures of the funds the board oversees (money as strings)."""
        board = self.get_object()
        data = dashboard_for(board, choice=DashboardChoice.of(request.query_params)).to_json()
        return Response(data)


class MeetingViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = MeetingSerializer
    filterset_fields = ["board", "status"]

    def get_queryset(self) -> QuerySet[Meeting]:
        return selectors.meetings_visible_to(self.request.user).order_by("-starts_at")


class DecisionViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = DecisionSerializer
    filterset_fields = ["board", "meeting", "outcome", "year"]

    def get_queryset(self) -> QuerySet[Decision]:
        return selectors.decisions_visible_to(self.request.user).order_by(
            "-year", "-sequence", "board__code"
        )


def _shared_board_people(user: Any) -> tuple[QuerySet[Membership], set[int]]:
    boards = Membership.objects.filter(person=user).values("board")
    managed = {
        m.board_id
        for m in Membership.objects.filter(person=user)
        if rules.can_manage_board(user, m.board)
    }
    return Membership.objects.filter(board__in=boards), managed


class InterestViewSet(viewsets.ReadOnlyModelViewSet):
    """Register of interests of people on the caller's boards (published entries; officers and
    chairs also see entries without consent to publish)."""

    serializer_class = InterestSerializer
    filterset_fields = ["kind", "related_organisation"]

    def get_queryset(self) -> QuerySet[Interest]:
        user = self.request.user
        if getattr(self, "swagger_fake_view", False) or not user.is_authenticated:
            return Interest.objects.none()
        qs = Interest.objects.select_related("person", "related_organisation").order_by(
            "person__last_name", "id"
        )
        if roles.is_administrator(user):
            return qs
        seats, managed = _shared_board_people(user)
        visible = Q(person__in=seats.values("person")) & (
            Q(consent_to_publish=True) | Q(person__board_memberships__board__in=managed)
        )
        return qs.filter(visible | Q(person=user)).distinct()


class GiftViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = GiftSerializer
    filterset_fields = ["kind", "outcome"]

    def get_queryset(self) -> QuerySet[GiftHospitality]:
        user = self.request.user
        if getattr(self, "swagger_fake_view", False) or not user.is_authenticated:
            return GiftHospitality.objects.none()
        qs = GiftHospitality.objects.select_related("person").order_by("-offered_on", "id")
        if roles.is_administrator(user):
            return qs
        seats, managed = _shared_board_people(user)
        visible = Q(person__in=seats.values("person")) & (
            Q(must_declare=True) | Q(person__board_memberships__board__in=managed)
        )
        return qs.filter(visible | Q(person=user)).distinct()
