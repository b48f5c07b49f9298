"""The sign-in rate limit for password guessing spread over many addresses (see
``accounts.services.sign_in_limited``), as an authentication backend so that every sign-in
form (the portal's and the admin's) goes through it."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied

from accounts.services import sign_in_limited


class GuessingLimitBackend:
    """Refuses, before any password is checked, a try over the account's limit. It signs no
    one in and keeps no one signed in: no ``get_user``, so sessions never name it."""

    def authenticate(self, request: Any, username: str | None = None,
                     password: str | None = None, **kwargs: Any) -> None:
        if request is None or not username:
            return None
        if sign_in_limited(email=username, request=request):
            request.dids_sign_in_limited = True
            raise PermissionDenied("Sign-in limited: too many tries from several addresses.")
        return None
