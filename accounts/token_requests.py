"""The browser-session middleware, skipped on API requests that carry an API token.

A RIS polling ``/api/submissions/`` with ``Authorization: Token dids_...`` is authenticated by
``ApiTokenAuthentication`` alone: a token header makes DRF answer with the token's user or a
401, never with a session's. The session, sign-in, absolute session limit, second factor and
messages middleware have nothing to do for such a request, yet they loaded the
session's user and saved its session on every poll. Each is listed in ``MIDDLEWARE`` as one of
these subclasses (so Django's and the admin's checks still find it): it runs for every other
request exactly as before, and an API request with a token header passes it by, as an
anonymous Django user until DRF authenticates the token. The security headers, the request guards, CommonMiddleware,
clickjacking, history, the replica router and axes run for every request. The response keeps
the ``Vary: Cookie`` the session middleware gave it once the session limit had read its user.
Django's own CSRF middleware stays as it is (``check --deploy`` looks for it by name; its
work on a request without a CSRF cookie is small, and DRF's views are exempt from its check).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import middleware as auth
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from django_otp import middleware as otp

from accounts import middleware as guards
from accounts.authentication import ApiTokenAuthentication

MARK = "_dids_api_token_request"


def carries_api_token(request: HttpRequest) -> bool:
    """An API request whose Authorization header names the token scheme (Token or Bearer)."""
    known = getattr(request, MARK, None)
    if known is None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme = header.split(None, 1)[0].lower() if header.strip() else ""
        known = (scheme in ApiTokenAuthentication.keywords
                 and request.path_info.startswith("/api/"))
        setattr(request, MARK, known)
    return bool(known)


class PassedByForApiTokens:
    """Mixed in before a middleware: it runs unless the request carries an API token."""

    get_response: Any

    def __call__(self, request: HttpRequest) -> Any:
        if not getattr(self, "_is_coroutine", None) and carries_api_token(request):
            return self.passed_by(request)
        return super().__call__(request)  # type: ignore[misc]

    def passed_by(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)


class SessionMiddleware(PassedByForApiTokens, sessions.SessionMiddleware):
    pass


class AuthenticationMiddleware(PassedByForApiTokens, auth.AuthenticationMiddleware):
    def passed_by(self, request: HttpRequest) -> HttpResponse:
        user: Any = AnonymousUser()
        request.user = user
        return self.get_response(request)


class SessionAbsoluteLimitMiddleware(PassedByForApiTokens, guards.SessionAbsoluteLimitMiddleware):
    def passed_by(self, request: HttpRequest) -> HttpResponse:
        # The limit read the session's user, which made the session middleware add this.
        response = self.get_response(request)
        patch_vary_headers(response, ("Cookie",))
        return response


class OTPMiddleware(PassedByForApiTokens, otp.OTPMiddleware):
    pass


class SecondFactorMiddleware(PassedByForApiTokens, guards.SecondFactorMiddleware):
    pass


class MessageMiddleware(PassedByForApiTokens, messages.MessageMiddleware):
    pass
