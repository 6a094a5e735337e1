"""Per-user API tokens: ``Authorization: Bearer wlt_…``.

The token is looked up by its SHA-256 digest (``ApiToken.digest``), so the database never holds
it; it is never logged, and a failed attempt says nothing about which tokens exist.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from .. import operations
from ..models import ApiToken

KEYWORD = "Bearer"


class ApiTokenAuthentication(BaseAuthentication):
    """``request.user`` is the token's user, ``request.auth`` the ``ApiToken``."""

    def authenticate(self, request: Any) -> tuple[Any, ApiToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != KEYWORD.lower().encode():
            return None  # another scheme, or none: session authentication may apply
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                _("Invalid Authorization header: give one token after “Bearer”."))
        try:
            secret = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked API token.")) from None
        token = (ApiToken.objects.live().select_related("user")
                 .filter(digest=ApiToken.digest_of(secret)).first())
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked API token."))
        operations.touch_api_token(token)  # writes at most once a minute per token
        return token.user, token

    def authenticate_header(self, request: Any) -> str:
        # Makes DRF answer 401 (not 403) to a request without credentials.
        return f'{KEYWORD} realm="licensing"'
