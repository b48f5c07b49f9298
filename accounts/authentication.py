from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from accounts.services import api_token_verify


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Token dids_...`` (or ``Bearer``): a RIS acting for one organisation."""

    keywords = ("token", "bearer")

    def authenticate(self, request: Any) -> tuple[Any, Any] | None:
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0].lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("The Authorization header must be 'Token <key>'.")
        token, refusal = api_token_verify(header[1])
        if token is None:
            raise exceptions.AuthenticationFailed(refusal)
        return token.user, token

    def authenticate_header(self, request: Any) -> str:
        return "Token"


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "An organisation API token: `Token dids_...`",
        }
