"""The API docs page: Swagger UI under the portal's Content-Security-Policy (see ``csp``)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.settings import spectacular_settings
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework.request import Request
from rest_framework.response import Response

from dids_portal.lib.csp import HEADER, origin, policy


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI with its start-up script served from this URL (``?script``), not inline, and a
    template without drf-spectacular's inline <style>."""

    template_name = "api_docs.html"

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().get(request, *args, **kwargs)
        origins = [o for o in {origin(str(spectacular_settings.SWAGGER_UI_DIST)),
                               origin(str(spectacular_settings.SWAGGER_UI_FAVICON_HREF or ""))}
                   if o]
        response[HEADER] = policy({"script-src": origins, "style-src": origins,
                                   "img-src": [*origins, "data:"]})
        return response
