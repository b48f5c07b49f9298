"""The Content-Security-Policy: one policy for every page, and the API docs under it.

The policy (``DIDS_CONTENT_SECURITY_POLICY`` in settings) allows the site's own files only: no
inline script or style, no other origin. The API docs (Swagger UI) load their script and style
sheet from ``SPECTACULAR_SETTINGS["SWAGGER_UI_DIST"]``: the portal's own static files (the
drf-spectacular-sidecar package); were it set to a CDN, their page alone would add its origin.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from drf_spectacular.settings import spectacular_settings
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework.request import Request
from rest_framework.response import Response

HEADER = "Content-Security-Policy"


def policy(extra: dict[str, list[str]] | None = None) -> str:
    """The header's value: the settings' policy with ``extra`` sources added per directive."""
    directives = {name: list(sources)
                  for name, sources in settings.DIDS_CONTENT_SECURITY_POLICY.items()}
    for name, sources in (extra or {}).items():
        directives.setdefault(name, []).extend(s for s in sources if s not in directives[name])
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI with its start-up script served from this URL (``?script``), not inline, and a
    template without drf-spectacular's inline <style>."""

    template_name = "api_docs.html"

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().get(request, *args, **kwargs)
        origins = [o for o in {_origin(str(spectacular_settings.SWAGGER_UI_DIST)),
                               _origin(str(spectacular_settings.SWAGGER_UI_FAVICON_HREF or ""))}
                   if o]
        response[HEADER] = policy({"script-src": origins, "style-src": origins,
                                   "img-src": [*origins, "data:"]})
        return response
