"""The request side of concurrent-license slots: the session's token and its cached confirmation.

The session keeps a random token; ``ConcurrentSession`` holds the slot under that token. A
user holds one slot per product, whatever the number of their sessions: a session that finds
the user's slot taken by another (another browser, or a parallel request of its own) keeps that
slot's token. The
cache remembers when the slot was last confirmed in the database, so an active session touches
the database about once a minute (to refresh ``last_seen``), not on every request. The writes
themselves are operations (``take_concurrent_slot``, ``touch_concurrent_slot``, ...).
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _

from .. import operations
from ..cache import get_cache, released_key, slot_key
from ..conf import licensing_settings
from ..exceptions import NoFreeSlot
from ..models import ReleasedSlot
from .snapshot import Lookup

SESSION_KEY = "_wagtail_licensing_slot"
REFUSED_SESSION_KEY = "_wagtail_licensing_slot_refused"  # [time, message] of the last refusal
LOGIN_SESSION_KEY = "_wagtail_licensing_login"
MAX_REFRESH_SECONDS = 60


def refresh_seconds() -> int:
    """How long a confirmed slot is trusted before ``last_seen`` is written again: a minute, or
    less with a very short ``CONCURRENT_IDLE_MINUTES``."""
    idle = licensing_settings.CONCURRENT_IDLE_MINUTES * 60
    return max(min(MAX_REFRESH_SECONDS, idle // 4), 1)


def session_token(request: HttpRequest) -> str | None:
    session = getattr(request, "session", None)
    return session.get(SESSION_KEY) if session is not None else None


def extra_cache_keys(request: HttpRequest) -> list[str]:
    """Cache keys to fetch with the user's access in the same round trip."""
    token = session_token(request)
    return [slot_key(token)] if token else []


class SlotRefused(Exception):
    """No slot for this session: every slot is taken, or a license manager released it."""

    def __init__(self, message: str, released: bool = False, repeated: bool = False) -> None:
        super().__init__(message)
        self.message = str(message)
        self.released = released
        self.repeated = repeated  # refused a moment ago already: not retried, not said again


def ensure_slot(request: HttpRequest, lookup: Lookup) -> str:
    """Make sure the request's session holds a slot of one of the user's concurrent products.

    Zero queries while the cached confirmation is fresh. Raises ``SlotRefused`` when every slot
    is taken, or when a license manager released this session's slot.
    """
    access = lookup.access
    if access is None:
        raise ValueError("ensure_slot() is for users the lookup found access for")
    cache = get_cache()
    token = session_token(request)
    now = time.time()
    refused = request.session.get(REFUSED_SESSION_KEY)
    if refused and not token and now - refused[0] < refresh_seconds():
        # A license manager let into the licensing screens without a slot: try again about
        # once a minute, not on every request.
        raise SlotRefused(refused[1], repeated=True)
    if token:
        entry = lookup.values.get(slot_key(token))
        if (isinstance(entry, dict) and entry.get("version") == lookup.version
                and entry.get("code") in access.slot_products
                and now - entry.get("checked", 0) < refresh_seconds()):
            return entry["code"]
        code = operations.touch_concurrent_slot(token, user=request.user,
                                                product_codes=access.slot_products)
        if code is None and (cache.get(released_key(token)) or released(token)):
            # The mark stays (until it expires): the user's other sessions share the token,
            # and each of them is signed out too.
            forget(request)
            raise SlotRefused(_("A license manager released your concurrent license slot, "
                                "so you were signed out. Sign in again when a slot is free."),
                              released=True)
    else:
        code = None
        token = secrets.token_urlsafe(24)
    if code is None:
        try:
            slot = operations.take_concurrent_slot(request.user, access.slot_products,
                                                   token=token)
        except NoFreeSlot as exc:
            forget(request)
            request.session[REFUSED_SESSION_KEY] = [now, exc.message]
            raise SlotRefused(exc.message) from exc
        # The user's slot may be one another session of theirs took: share its token.
        code, token = slot.product_code, slot.session_key
        request.session[SESSION_KEY] = token
        request.session.pop(REFUSED_SESSION_KEY, None)
    cache.set(slot_key(token), {"code": code, "version": lookup.version, "checked": now},
              licensing_settings.CONCURRENT_IDLE_MINUTES * 60 or None)
    return code


def released(token: str) -> bool:
    """Whether a license manager released the slot of ``token``: the database's mark, which
    every process sees within ``STATE_RECHECK_SECONDS`` (the release bumps the state version,
    so that each process confirms its sessions' slots again), whatever cache it has. One
    query, only when a session finds its slot gone."""
    return ReleasedSlot.objects.current().filter(session_key=token).exists()


def forget(request: HttpRequest) -> None:
    """Drop the session's slot token (and its cached confirmation)."""
    token = session_token(request)
    if token:
        get_cache().delete(slot_key(token))
        del request.session[SESSION_KEY]


def release_own_slot(request: HttpRequest) -> None:
    """The user no longer needs a slot (e.g. now holds a named license): free it."""
    token = session_token(request)
    if token:
        operations.end_concurrent_session(token)
        forget(request)


def note_login(request: HttpRequest) -> None:
    """Checked by the middleware on the next admin request: take a concurrent slot, and send
    license managers to the License manager when a product has expired."""
    request.session[LOGIN_SESSION_KEY] = True


def pop_login(request: HttpRequest) -> bool:
    """Was this the first admin request since the user logged in? (Asked once.)"""
    return request.session.pop(LOGIN_SESSION_KEY, None) is not None


def end_session_slot(request: HttpRequest, user: Any = None) -> None:
    """The session of ``user`` logs out: its slot, and every other slot of the user, is free
    at once, not after the idle window. The user's other signed-in browsers share that slot:
    their next request takes one again."""
    token = session_token(request)
    if not token and getattr(user, "pk", None) is None:
        return
    tokens = set(operations.end_concurrent_session(
        token, user=user if getattr(user, "is_authenticated", False) else None))
    if token:
        tokens.add(token)
    get_cache().delete_many([slot_key(t) for t in tokens])
