"""One error type for domain failures and one JSON error shape for every API failure.

Every API error body is ``{"error": {"code": ..., "message": ..., "details": ...}}``.
Django REST framework is imported by the API's exception handler only: services raise
DomainError from every command, and most commands never load the API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError

if TYPE_CHECKING:
    from rest_framework.response import Response


class DomainError(Exception):
    """A business rule said no. Raised by services; rendered as a 4xx by the API and pages."""

    status_code = 400

    def __init__(self, message: str, *, code: str = "invalid", details: Any = None,
                 status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.details = details
        if status_code is not None:
            self.status_code = status_code


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    from django.http import Http404  # with the API only: a check raises DomainError without it
    from rest_framework import exceptions
    from rest_framework.response import Response
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.status_code)
    if isinstance(exc, ValidationError):
        details = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        exc = exceptions.ValidationError(details)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        body = error_body("validation_error", "The request is not valid.", response.data)
    else:
        detail = response.data.get("detail") if isinstance(response.data, dict) else response.data
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        body = error_body(str(code), str(detail), None)
    response.data = body
    return response
