"""Create and revoke API tokens (``ApiToken``), with an audit entry that never holds a secret.

Tokens are not seats: no lock of the licensing state, no version bump. The entry names the
token by its name and first characters only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q
from django.utils import timezone

from ..models import ApiToken
from .base import LicensingAction, StateAccess

ACTION_API_TOKEN = "wagtail_licensing.api_token"  # noqa: S105 - an audit action name

HINT_LENGTH = 8


@dataclass
class ApiTokenResult:
    token: ApiToken
    created: bool = False
    revoked: bool = False
    secret: str = ""  # the token itself: set when created, shown once, never stored

    @property
    def changed(self) -> bool:
        return self.created or self.revoked


class ApiTokenAction(LicensingAction[ApiTokenResult]):
    state_access = StateAccess.READ
    log_action = ACTION_API_TOKEN

    def changes_state(self, result: ApiTokenResult) -> bool:
        return False  # nothing a licensing cache depends on

    def logs(self, result: ApiTokenResult) -> bool:
        return result.changed

    def log_data(self, result: ApiTokenResult) -> dict[str, Any]:
        token = result.token
        return {"event": "created" if result.created else "revoked", "name": token.name,
                "hint": token.hint, "owner": token.user.get_username(),
                "read_only": token.read_only}


class CreateApiTokenAction(ApiTokenAction):
    """A new token for the acting user (or ``owner``, from site code)."""

    def __init__(self, *, name: str, read_only: bool = True, owner: Any = None,
                 user: Any = None) -> None:
        super().__init__(user=user)
        self.name = name
        self.read_only = read_only
        self.owner = owner or self.user

    def _run(self) -> ApiTokenResult:
        if self.owner is None:
            raise ValueError("An API token needs a user: give owner= or user=")
        secret = ApiToken.new_secret()
        token = ApiToken.objects.create(
            user=self.owner, name=self.name, read_only=self.read_only,
            digest=ApiToken.digest_of(secret), hint=secret[:HINT_LENGTH],
            created_by=self.user)
        return ApiTokenResult(token=token, created=True, secret=secret)


class RevokeApiTokenAction(ApiTokenAction):
    """Revoke a token: it never authenticates again. Revoking a revoked token changes
    nothing."""

    def __init__(self, token: ApiToken | int, *, user: Any = None) -> None:
        super().__init__(user=user)
        self.token = token

    def _run(self) -> ApiTokenResult:
        pk: int = self.token.pk if isinstance(self.token, ApiToken) else int(self.token)
        token = ApiToken.objects.select_for_update().select_related("user").get(pk=pk)
        if token.revoked:
            return ApiTokenResult(token=token)
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        return ApiTokenResult(token=token, revoked=True)


class TouchApiTokenAction(LicensingAction[bool]):
    """Record that a token was just used: one ``UPDATE``, and only when the last use recorded
    is older than ``ApiToken.LAST_USED_PRECISION`` (the authentication asks
    ``last_used_is_stale`` on the row it read anyway, so a busy token costs no write per
    request). Not licensing state: no permission, lock, transaction, audit entry or version
    bump; whether another process recorded it a moment before does not matter (the condition
    in the ``UPDATE`` keeps the latest). True when it wrote."""

    permission_required = False
    state_access = StateAccess.NONE
    atomic = False

    def __init__(self, token: ApiToken, *, now: datetime | None = None) -> None:
        super().__init__()
        self.token = token
        self.now = now

    def _run(self) -> bool:
        now = self.now or timezone.now()
        if not self.token.last_used_is_stale(now):
            return False
        updated = ApiToken.objects.filter(pk=self.token.pk).filter(
            Q(last_used_at__isnull=True)
            | Q(last_used_at__lte=now - ApiToken.LAST_USED_PRECISION),
        ).update(last_used_at=now)
        self.token.last_used_at = now
        return bool(updated)

    def changes_state(self, result: bool) -> bool:
        return False
