"""The API's front page at /api/v1/: every collection of every app, with its URL.

Each app keeps its own router (`<app>/api_urls.py`); a router's own root page would list only its
app's collections, so the routers are built without one and this view lists them all.
"""

from __future__ import annotations

from typing import Any

from django.urls import NoReverseMatch
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

API_APPS = ("localities", "budgets", "commissioning", "boards")


def _routers() -> list[Any]:
    from importlib import import_module

    return [import_module(f"{app}.api_urls").router for app in API_APPS]


class ApiRootView(APIView):
    """Every collection the API offers (sign in or send a token to see it)."""

    @extend_schema(exclude=True)
    def get(self, request: Request, format: str | None = None) -> Response:
        links: dict[str, str] = {}
        for router in _routers():
            for prefix, _viewset, basename in router.registry:
                try:
                    links[prefix] = reverse(f"{basename}-list", request=request, format=format)
                except NoReverseMatch:
                    continue  # a route with detail views only
        for name, route in (("schema", "api-schema"), ("docs", "api-docs")):
            links[name] = reverse(route, request=request)
        return Response(dict(sorted(links.items())))
