"""The short path of a RIS's polls: a GET answered without DRF's dispatch.

A status poll (``/api/submissions/``, a version) and ``/api/months/`` are polled many times a
second, and DRF's dispatch (its request wrapper, authentication, permission checks, content
negotiation and renderer) cost more than the one statement that writes the answer's JSON.
Where a request is one DRF would answer the same way without any of that, a view answers it
here: a GET whose API token the token cache verified in the last seconds (what
``ApiTokenAuthentication`` would accept, so ``IsAuthenticated`` passes), with an Accept for
which DRF's negotiation picks the JSON renderer, on PostgreSQL (where the statement writes
the JSON). Anything else returns None and takes DRF's path, which checks the token,
negotiates, answers errors and stays the reference the tests hold these bytes equal to.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

from accounts.authentication import recalled_token
from accounts.models import ApiToken
from submissions.api.status_json import status_json_supported

# What a poll may send as Accept for the JSON DRF would choose anyway (no media type parameters).
PLAIN_ACCEPT = frozenset({"", "*/*", "application/json"})


def short_path_token(request: HttpRequest) -> ApiToken | None:
    """The API token of a GET that may take the short path, or None (DRF's path)."""
    if (request.method != "GET"
            or request.META.get("HTTP_ACCEPT", "").strip() not in PLAIN_ACCEPT
            or not status_json_supported()):
        return None
    token: ApiToken | None = recalled_token(request)
    return token


def short_path_response(view: Any, request: HttpRequest, token: ApiToken,
                        body: str | bytes) -> HttpResponse:
    """``body`` (JSON as DRF's renderer writes it) as DRF's path answers: its content type
    and the view's default headers (``Allow``, ``Vary``), with the token's user on the request
    as DRF's authentication sets it for the middleware after."""
    request.user = token.user
    response = HttpResponse(body, content_type="application/json")
    headers = view.default_response_headers
    if "Vary" in headers:
        patch_vary_headers(response, [headers.pop("Vary")])
    for key, value in headers.items():
        response[key] = value
    return response
