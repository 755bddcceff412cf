"""The address a request came from, behind the documented reverse proxy or without one.

With GMHSC_TRUSTED_PROXY_COUNT = 0 (env TRUSTED_PROXY_COUNT, the default) the connection's own
address (REMOTE_ADDR) is the client and X-Forwarded-For is ignored: anyone can write that header.
With N trusted proxies in front of the app, each appends the address it was connected from to
X-Forwarded-For, so the client is the N-th entry from the right; entries further left were sent
by the client itself and are never trusted. A request with fewer entries than N did not come
through the proxies (or they are misconfigured): its connection address is used.

django-axes keys sign-in lockouts on this address (settings.AXES_CLIENT_IP_CALLABLE) and DRF
uses the same count (REST_FRAMEWORK["NUM_PROXIES"]).
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _valid(text: str) -> str | None:
    text = text.strip()
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str:
    remote = request.META.get("REMOTE_ADDR", "") or ""
    count = int(getattr(settings, "GMHSC_TRUSTED_PROXY_COUNT", 0))
    if count <= 0:
        return remote
    entries = [e for e in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if e.strip()]
    if len(entries) < count:
        return remote
    return _valid(entries[-count]) or remote
