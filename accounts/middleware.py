"""Request guards: malformed requests, the upload size limit, the absolute session limit and
the second factor; and the security headers of every response."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django_otp import user_has_device

from accounts.selectors import second_factor_required
from dids_portal.lib import csp
from dids_portal.lib.errors import DomainError, error_body
from dids_portal.lib.pages import bad_request

SESSION_STARTED_KEY = "dids_signed_in_at"
SESSION_OTP_ENROLLED_KEY = "dids_otp_enrolled"
# Multipart framing and the form's other fields, on top of the file itself.
UPLOAD_OVERHEAD_BYTES = 64 * 1024

Handler = Callable[[HttpRequest], HttpResponse]


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


def _is_static(request: HttpRequest) -> bool:
    return request.path_info.startswith(f"/{settings.STATIC_URL.strip('/')}/")


def _error(request: HttpRequest, status: int, code: str, message: str,
           details: Any = None) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body(code, message, details), status=status)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


def _has_nul(values: Any) -> bool:
    return any("\x00" in value for value in values)


class MalformedRequestMiddleware:
    """Refuse with a 400 what no view should see, before any view or database does.

    A NUL byte in the path, a query parameter, a header or a cookie: PostgreSQL refuses NUL in
    text, so it reached the database as a 500. The API answers in its JSON error shape, pages
    with the 400 page. A ``DomainError`` that escapes a page view is its status with the 400
    page too (the API's exception handler renders it in the JSON shape).
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        where = self._nul_in(request)
        if where:
            return bad_request(request, message=f"The request has a NUL character in its {where}.")
        return self.get_response(request)

    @staticmethod
    def _nul_in(request: HttpRequest) -> str:
        if "\x00" in request.path_info:
            return "address"
        query = QueryDict(request.META.get("QUERY_STRING", ""), encoding=request.encoding)
        if _has_nul(query.keys()) or _has_nul(v for _, vs in query.lists() for v in vs):
            return "query"
        if _has_nul(v for k, v in request.META.items()
                    if k.startswith("HTTP_") and isinstance(v, str)):
            return "headers"
        if _has_nul(request.COOKIES.values()):
            return "cookies"
        return ""

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DomainError):
            return None
        if _is_api(request):
            return _error(request, exception.status_code, exception.code, exception.message,
                          exception.details)
        return bad_request(request, message=exception.message, status=exception.status_code)


class ResponseHeadersMiddleware:
    """Every response of the portal (pages, API, downloads, errors; not static files) is never
    stored by a browser or proxy (``no-store, private``: they carry records, findings and
    identifiers) and carries the Content-Security-Policy.

    A response that already says ``no-store``, or sets its own policy (the API docs), keeps it.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if _is_static(request):
            return response
        if "no-store" not in response.get("Cache-Control", ""):
            response["Cache-Control"] = "no-store, private"
        if csp.HEADER not in response:
            response[csp.HEADER] = csp.policy()
        return response


class UploadSizeLimitMiddleware:
    """Refuse a request whose declared body is over DIDS_MAX_UPLOAD_BYTES, before reading it.

    It runs before anything touches ``request.body``/``POST``, so the body is never read. (A
    body without a Content-Length is read by Django as empty; the upload service also counts
    the bytes it spools.)
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _error(request, 400, "bad_request", "The Content-Length header is not a number.")
        limit = settings.DIDS_MAX_UPLOAD_BYTES
        if declared > limit + UPLOAD_OVERHEAD_BYTES:
            # No "Connection: close": it is a hop-by-hop header, which a WSGI application may
            # not set (PEP 3333); the development server refused it with a 500.
            return _error(request, 413, "file_too_large",
                          f"The upload is larger than the limit of {limit:,} bytes.")
        return self.get_response(request)


class SessionAbsoluteLimitMiddleware:
    """End a session DIDS_SESSION_ABSOLUTE_SECONDS after sign-in, however active it has been.

    The idle limit is Django's own (SESSION_COOKIE_AGE with SESSION_SAVE_EVERY_REQUEST).
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = int(time.time())
            started = request.session.get(SESSION_STARTED_KEY)
            if started is None:
                request.session[SESSION_STARTED_KEY] = now
            elif now - int(started) > settings.DIDS_SESSION_ABSOLUTE_SECONDS:
                logout(request)  # deletes the session row
                if _is_api(request):
                    return _error(request, 401, "not_authenticated",
                                  "Your session has expired. Sign in again.")
                sign_in = reverse("accounts:sign-in")
                return redirect(f"{sign_in}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)


class SecondFactorMiddleware:
    """Users who must use a second factor (or have set one up) reach nothing but the second
    factor pages and sign-out until they have given a code this session."""

    exempt_names = ("accounts:sign-in", "accounts:sign-out", "accounts:otp-verify",
                    "accounts:otp-setup")

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        self._exempt: set[str] | None = None

    def exempt_paths(self) -> set[str]:
        if self._exempt is None:
            self._exempt = {reverse(name) for name in self.exempt_names}
        return self._exempt

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user: Any = request.user
        if (user.is_authenticated and not user.is_verified()
                and request.path_info not in self.exempt_paths()
                and not _is_static(request)
                and (second_factor_required(user)
                     or request.session.get(SESSION_OTP_ENROLLED_KEY))):
            if _is_api(request):
                return _error(request, 403, "second_factor_required",
                              "Give your second factor code on the portal first.")
            name = "accounts:otp-verify" if user_has_device(user) else "accounts:otp-setup"
            return redirect(f"{reverse(name)}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)
