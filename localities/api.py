"""Read-only API: the partner organisations and the localities they serve.

Reference data, the same for everyone signed in; nothing here is scoped by organisation.
"""

from __future__ import annotations

from rest_framework import serializers, viewsets

from localities.models import Locality, Organisation


class LocalitySerializer(serializers.ModelSerializer):
    class Meta:
        model = Locality
        fields = [
            "id",
            "gss_code",
            "name",
            "old_la_code",
            "population_mid2011",
            "population_mid2015",
            "population_mid2015_verified",
        ]


class OrganisationSerializer(serializers.ModelSerializer):
    localities: serializers.SlugRelatedField = serializers.SlugRelatedField(
        many=True, read_only=True, slug_field="gss_code"
    )

    class Meta:
        model = Organisation
        fields = [
            "id",
            "code",
            "code_system",
            "name",
            "short_name",
            "kind",
            "localities",
            "valid_from",
            "valid_to",
            "verified",
        ]


class LocalityViewSet(viewsets.ReadOnlyModelViewSet):
    """The ten Greater Manchester boroughs."""

    queryset = Locality.objects.order_by("name")
    serializer_class = LocalitySerializer
    filterset_fields = ["gss_code"]


class OrganisationViewSet(viewsets.ReadOnlyModelViewSet):
    """Partner organisations: NHS England, CCGs, councils, NHS providers and GMCA."""

    queryset = Organisation.objects.prefetch_related("localities").order_by("kind", "name")
    serializer_class = OrganisationSerializer
    filterset_fields = ["kind", "code"]
