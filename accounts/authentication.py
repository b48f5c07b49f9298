from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from accounts import token_cache
from accounts.services import api_token_verify, hash_token


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


def recalled_token(request: Any) -> Any:
    """The request's API token if it passed ``api_token_check`` in the last seconds
    (``accounts.token_cache``: expiry checked on every hit, revocation within those seconds),
    else None. What ``ApiTokenAuthentication`` would accept, for a path that skips DRF's
    dispatch; a token not remembered (and any malformed header) is left to DRF, which checks
    it, remembers it and answers a refusal with its 401."""
    header = authentication.get_authorization_header(request).decode("latin-1").split()
    if len(header) != 2 or header[0].lower() not in ApiTokenAuthentication.keywords:
        return None
    return token_cache.recall(hash_token(header[1]))


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
