"""The user census (``UserCensus``): accounts, the active ones and the portal users among
those, kept.

"Add users" numbers its pages from it (``LicensedProduct.grant_candidate_count``), and System
users' "Holds no license" filter (``filters.kept_user_count``), instead of counting every
user, which grows with the site. The user and portal user signals
(``enforcement.signals``) move it by what changed; the moves of one transaction are added
together and written in one ``UPDATE`` of their own once it commits, so that a user saved in a
long transaction (a directory sync) never holds the row lock, and a rolled-back change moves
nothing. ``drift()`` compares it with a count and ``repair()`` stores the count
(``manage.py licensing verify [--fix]``): site code that creates users with ``bulk_create``, or
changes ``is_active`` with a bare ``UPDATE``, reaches no signal.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError, transaction
from django.db.models import Count, F, Q, QuerySet, Value
from django.db.models.functions import Greatest

from .models import PortalUser, UserCensus, is_portal_user_expression

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Census:
    """User accounts, the active ones, and of those the portal users."""

    users: int = 0
    active_users: int = 0
    active_portal_users: int = 0


def count() -> Census:
    """The true census: two counts over the users."""
    return Census(*UserCensus.counted())


def census() -> Census:
    """The census as kept (one query); counted and stored the first time it is read."""
    return Census(*UserCensus.kept())


def store(truth: Census) -> Census:
    """Write ``truth`` as the census."""
    UserCensus.store(truth.users, truth.active_users, truth.active_portal_users)
    return truth


def move(*, users: int = 0, active: int = 0, portal: int = 0) -> None:
    """Move the census by ``users`` accounts, ``active`` active users and ``portal`` active
    portal users once the current transaction commits (at once outside one). The moves made
    within one transaction and savepoint are added up and written together."""
    if not (users or active or portal):
        return
    pending = _pending_move()
    if pending is not None:
        pending.users += users
        pending.active += active
        pending.portal += portal
        return
    transaction.on_commit(_Move(users, active, portal), robust=True)


class _Move:
    """A census move waiting for its transaction to commit."""

    def __init__(self, users: int, active: int, portal: int) -> None:
        # What Django's robust ``on_commit`` names a callback by when it logs its failure:
        # without it, the logging itself would raise, and the callbacks after it not run.
        self.__qualname__ = f"{__name__}._Move"
        self.users = users
        self.active = active
        self.portal = portal

    def __call__(self) -> None:
        if not (self.users or self.active or self.portal):
            return
        try:
            # Never below zero: a count that drifted low must not fail the write.
            updated = UserCensus.objects.filter(pk=UserCensus.SINGLETON_PK).update(
                users=Greatest(F("users") + self.users, Value(0)),
                active_users=Greatest(F("active_users") + self.active, Value(0)),
                active_portal_users=Greatest(F("active_portal_users") + self.portal, Value(0)))
            if not updated:
                census()  # no row yet: count, which includes this change
        except DatabaseError:
            logger.warning("Could not update the user census (manage.py licensing verify "
                           "--fix recounts it)", exc_info=True)


def _pending_move() -> _Move | None:
    """The move already waiting on the current transaction, registered in the same savepoint
    (so that a savepoint rolled back drops it with the changes it counted)."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        return None
    savepoints = set(connection.savepoint_ids)
    for entry in connection.run_on_commit:
        if isinstance(entry[1], _Move) and entry[0] == savepoints:
            return entry[1]
    return None


@dataclass(frozen=True)
class CensusDrift:
    """The kept census differs from a count of the users."""

    kept: Census
    actual: Census


def drift() -> CensusDrift | None:
    """The kept census against a count, or None when they agree. Changes nothing."""
    kept = census()
    actual = count()
    return None if kept == actual else CensusDrift(kept, actual)


def repair() -> CensusDrift | None:
    """Store the counted census when it differs from the kept one; what differed, or None.
    Takes no lock on the census row (its moves never wait on anything else, and this is
    called under the licensing lock): a move committed while it counts is the one drift
    the next ``verify`` reports."""
    found = drift()
    if found is not None:
        store(found.actual)
    return found


def user_active_changed(user: Any, *, now_active: bool) -> None:
    """``user`` was activated (``now_active``) or deactivated: one query to know whether it is
    a portal user."""
    sign = 1 if now_active else -1
    portal = PortalUser.objects.filter(user_id=user.pk).exists()
    move(active=sign, portal=sign if portal else 0)


def users_active_changed(users: QuerySet) -> None:
    """Each of ``users`` was just activated or deactivated (one ``UPDATE``), as its
    ``is_active`` now says: one query."""
    active = Q(is_active=True)
    portal = Q(is_portal_user_expression())
    moved = users.order_by().aggregate(
        on=Count("pk", filter=active), off=Count("pk", filter=~active),
        portal_on=Count("pk", filter=active & portal),
        portal_off=Count("pk", filter=~active & portal))
    move(active=moved["on"] - moved["off"], portal=moved["portal_on"] - moved["portal_off"])
