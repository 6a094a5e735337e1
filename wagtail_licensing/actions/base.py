"""The base action: the wrapper every change of licensing state goes through, written once.

``execute()`` checks the permission through the registered policy (skipped when no user is
given: site code, the command run by an operator), opens the transaction, takes the state row
lock, runs the subclass's ``_run()``, bumps the version when the result says state changed,
writes the audit entry, runs the site's hooks (inside the transaction, so that a hook that
raises rolls everything back: docs/hooks.md) and publishes the new version once the transaction
commits (to this process at once, to the others through the cache and their recheck).
Modelled on ``wagtail/actions/`` (``UnpublishAction``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from enum import Enum
from typing import Any, ClassVar, Generic, TypeVar

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import QuerySet
from wagtail import hooks
from wagtail.log_actions import log

from .. import cache
from ..exceptions import LicensingPermissionDenied
from ..models import LicensingState
from ..permissions import MANAGE, permission_policy

logger = logging.getLogger("wagtail_licensing")

R = TypeVar("R")

# How many names an audit log entry lists per product (the counts are always complete).
NAMES_LOGGED = 50


class StateAccess(Enum):
    """How an action reaches the licensing state row."""

    LOCK = "lock"  # a writer: the row lock serialises it with every other writer
    READ = "read"  # reads the state, changes nothing that others count (previews, requests)
    NONE = "none"  # needs no state at all (the per-request slot touch must stay two queries)


def real_user(user: Any) -> Any:
    """The acting user as a saved instance, or None (anonymous, command line)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return getattr(user, "_wrapped", user)


def user_queryset(users: Any) -> QuerySet:
    """Accept a user queryset, a list of users or a list of primary keys."""
    if isinstance(users, QuerySet):
        return users.order_by()
    pks = [getattr(u, "pk", u) for u in users]
    return get_user_model()._default_manager.filter(pk__in=pks)


def product_codes(codes: str | Iterable[str]) -> list[str]:
    """One code or many, without duplicates, in the order given."""
    if isinstance(codes, str):
        codes = [codes]
    return list(dict.fromkeys(codes))


def hook_wanted(name: str) -> bool:
    """Whether a site registered a function for the hook ``name``: what only a hook needs
    (the usernames of a group change) is fetched only then, so sites without hooks pay
    nothing for it."""
    return bool(hooks.get_hooks(name))


def run_hooks(name: str, **kwargs: Any) -> list[Any]:
    """Call every function registered for the hook ``name``; their return values."""
    return [fn(**kwargs) for fn in hooks.get_hooks(name)]


class LicensingAction(Generic[R]):
    """One change of licensing state. Subclasses implement ``_run()`` and say what to log and
    which hooks to call; ``execute()`` does the rest, the same way for every action."""

    #: Whether the acting user needs CanManageLicUsers. False only for actions a user without
    #: it triggers on their own account (their concurrent slot, seats following their
    #: deactivation); each such subclass says why.
    permission_required: ClassVar[bool] = True
    #: How the state row is reached; ``LOCK`` for every writer of counted state.
    state_access: ClassVar[StateAccess] = StateAccess.LOCK
    #: Whether ``_run()`` runs in a transaction. False only for actions of one statement on
    #: the hot path (touching a slot), where a savepoint would cost a query per request.
    atomic: ClassVar[bool] = True
    #: The audit log action (``wagtail_licensing.*``, registered in ``wagtail_hooks``).
    log_action: ClassVar[str | None] = None

    def __init__(self, *, user: Any = None) -> None:
        self.user = real_user(user)
        self._state: LicensingState | None = None

    @property
    def state(self) -> LicensingState:
        """The state row ``execute()`` read or locked; an action with ``state_access = NONE``
        has none, and must not ask for it."""
        if self._state is None:
            raise RuntimeError(f"{type(self).__name__} has no licensing state outside execute()")
        return self._state

    # The steps, in the order execute() runs them ------------------------------------------

    def check(self) -> None:
        """Refuse a user without CanManageLicUsers. Skipped when no user is given."""
        if not self.permission_required or self.user is None:
            return
        if not permission_policy.user_has_permission(self.user, MANAGE):
            raise LicensingPermissionDenied(self.user)

    def execute(self) -> R:
        self.check()
        if not self.atomic:
            return self._execute()
        with transaction.atomic():
            return self._execute()

    def _execute(self) -> R:
        if self.state_access is StateAccess.LOCK:
            # The one place the licensing row lock is taken.
            self._state = LicensingState.lock()
        elif self.state_access is StateAccess.READ:
            self._state = LicensingState.get()
        result = self._run()
        version = None
        if self.changes_state(result):
            version = self.state.bump_version()
        if self.log_action is not None and self.logs(result):
            for data in self.log_entries(result):
                log(instance=self._state, action=self.log_action, user=self.user, data=data)
        returned: list[Any] = []
        for name, kwargs in self.hooks(result):
            returned += self.run_hook(name, **kwargs)
        self.hooks_returned(result, returned)
        tasks = self.on_commit(result)
        if version is not None or tasks:
            transaction.on_commit(lambda: _publish(version, tasks))
        return result

    # What subclasses provide ---------------------------------------------------------------

    def _run(self) -> R:
        raise NotImplementedError

    def changes_state(self, result: R) -> bool:
        """Whether ``result`` changed what caches depend on (then the version is bumped)."""
        return bool(getattr(result, "changed", False))

    def logs(self, result: R) -> bool:
        """Whether to write the audit entry; by default when state changed."""
        return self.changes_state(result)

    def log_data(self, result: R) -> dict[str, Any]:
        return {}

    def log_entries(self, result: R) -> Sequence[dict[str, Any]]:
        """The data of each audit entry: one, unless an action changes several users'
        records at once and each of them gets one (``UsersStatusChanged``)."""
        return [self.log_data(result)]

    def hooks(self, result: R) -> Sequence[tuple[str, dict[str, Any]]]:
        """The hooks to call after the work, as ``(name, kwargs)``; ``user`` is added."""
        return []

    def hooks_returned(self, result: R, returned: list[Any]) -> None:
        """Receives what the hooks returned (the license request keeps it)."""

    def on_commit(self, result: R) -> list[Callable[[], None]]:
        """Cache updates to make once committed, after the version is published."""
        return []

    def run_hook(self, name: str, **kwargs: Any) -> list[Any]:
        """Call a hook with the acting user; for hooks called in the middle of ``_run()``."""
        return run_hooks(name, user=self.user, **kwargs)


def _publish(version: int | None, tasks: list[Callable[[], None]]) -> None:
    """After commit: the change stands whatever happens here. This process applies the new
    version at once; a cache that is down is logged (``cache.SafeCache``), never raised, and
    every other process reads the new version from the database within
    ``STATE_RECHECK_SECONDS`` (``cache.seen_state``)."""
    if version is not None:
        cache.publish_version(version)
    for task in tasks:
        try:
            task()
        except Exception:
            logger.exception("Could not update the licensing cache after a change")
