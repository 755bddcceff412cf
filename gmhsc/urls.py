"""Root URLs: each app owns its pages (`<app>/urls.py`) and API routes (`<app>/api_urls.py`).

There is no /media/ route, in any setting: uploaded and generated files (exports, board packs,
papers, ledger files) are served only by views that check who may see them."""

from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from gmhsc import views
from gmhsc.api_root import ApiRootView

urlpatterns = [
    path("", views.home, name="home"),
    path("health/", views.health, name="health"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("localities/", include("localities.urls")),
    path("budgets/", include("budgets.urls")),
    path("commissioning/", include("commissioning.urls")),
    path("boards/", include("boards.urls")),
    path("api/v1/", ApiRootView.as_view(), name="api-root"),
    path("api/v1/", include("localities.api_urls")),
    path("api/v1/", include("budgets.api_urls")),
    path("api/v1/", include("commissioning.api_urls")),
    path("api/v1/", include("boards.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file (?script=), not inline.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    # ReDoc builds its look with styled-components, which writes <style> elements at run time, and
    # runs its search in a Web Worker it makes from its own code (a blob: URL): this one page
    # (public, no data) may apply inline styles and start that worker; scripts stay 'self' only.
    # Its "Redocly" footer logo, the one file it would fetch from a CDN, stays blocked (img-src).
    path(
        "api/redoc/",
        csp_update({"style-src": ["'unsafe-inline'"], "worker-src": ["'self'", "blob:"]})(
            SpectacularRedocView.as_view(url_name="api-schema")
        ),
        name="api-redoc",
    ),
]
