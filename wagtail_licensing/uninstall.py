"""Removing the app from a site: what ``manage.py licensing uninstall`` does, run while the app
is still installed (its command goes with it).

1. The app's audit log entries stay, and stay readable: Wagtail's log tables are not the app's.
   Once the app is gone nobody registers its log actions, so Wagtail shows each entry as
   "Unknown wagtail_licensing.grant"; each entry's ``label`` (Site history's "Name" column) is
   therefore rewritten to the sentence the app shows for it ("Grant licenses: Granted licenses
   to 3 users: cms-editor (3)"), in the site's ``LANGUAGE_CODE``, and the original label, the
   action's label and the message are kept in ``data["wagtail_licensing_uninstalled"]``.
2. ``migrate wagtail_licensing zero`` drops the app's tables (licenses, assignments, sessions,
   pending uploads, notices), refused if another app's migrations depend on them.
3. The app's content types are deleted, and with them its one permission (CanManageLicUsers)
   and the groups' and users' hold of it. Log entries keep their rows (their content type
   becomes empty: Wagtail's ``SET_NULL``). This comes after the migration because ``migrate``
   creates the content types and permissions of every installed app again.
4. The state version and access epoch are deleted from the licensing cache (the per-user
   decisions expire by themselves, at the latest at midnight).
5. On PostgreSQL, the trigram indexes ``licensing search-indexes`` put on the user table are
   dropped (``search_indexes``): the user table is not the app's, so ``migrate`` leaves them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import translation
from django.utils.text import capfirst
from wagtail.log_actions import registry as log_action_registry
from wagtail.models import ModelLogEntry

from . import search_indexes
from .cache import EPOCH_KEY, VERSION_KEY, get_cache
from .exceptions import LicensingError

APP_LABEL = "wagtail_licensing"
ACTION_PREFIX = f"{APP_LABEL}."
#: Where each rewritten entry keeps what it said before.
DATA_KEY = "wagtail_licensing_uninstalled"
BATCH_SIZE = 500


class UninstallRefused(LicensingError):
    """Uninstalling would unapply migrations of other apps."""


@dataclass
class UninstallPlan:
    log_entries: int
    log_entries_to_rewrite: int
    migrations: list[str]
    blocking_migrations: list[str]
    content_types: list[str]
    permissions: list[str]
    groups_with_permission: list[str]
    users_with_permission: int


@dataclass
class UninstallResult:
    plan: UninstallPlan
    rewritten: int = 0
    unapplied: list[str] = field(default_factory=list)
    deleted_content_types: int = 0
    dropped_search_indexes: list[str] = field(default_factory=list)
    #: Why the search indexes could not be dropped (the rest of the uninstall stands).
    search_indexes_error: str = ""


def _licensing_entries() -> Any:
    return ModelLogEntry.objects.filter(action__startswith=ACTION_PREFIX)


def make_plan(database: str = DEFAULT_DB_ALIAS) -> UninstallPlan:
    executor = MigrationExecutor(connections[database])
    steps = executor.migration_plan([(APP_LABEL, None)])
    migrations = [f"{migration.app_label}.{migration.name}" for migration, _backwards in steps]
    permissions = Permission.objects.using(database).filter(content_type__app_label=APP_LABEL)
    entries = _licensing_entries().using(database)
    return UninstallPlan(
        log_entries=entries.count(),
        log_entries_to_rewrite=entries.exclude(data__has_key=DATA_KEY).count(),
        migrations=migrations,
        blocking_migrations=[name for name in migrations
                             if not name.startswith(ACTION_PREFIX)],
        content_types=sorted(ContentType.objects.using(database).filter(
            app_label=APP_LABEL).values_list("model", flat=True)),
        permissions=sorted(permissions.values_list("codename", flat=True)),
        groups_with_permission=sorted(permissions.values_list(
            "group__name", flat=True).exclude(group__name=None).distinct()),
        users_with_permission=permissions.exclude(user=None).values("user").distinct().count(),
    )


def readable_label(entry: ModelLogEntry) -> tuple[str, str, str]:
    """The action's label, the entry's message, and the two as one line."""
    formatter = log_action_registry.get_formatter(entry)
    if formatter is None:  # pragma: no cover - every licensing action is registered
        return entry.action, entry.label, entry.label
    action_label = str(formatter.label)
    message = str(capfirst(formatter.format_message(entry)))
    return action_label, message, f"{action_label}: {message}"


def rewrite_log_entries(database: str = DEFAULT_DB_ALIAS) -> int:
    """Write into every licensing log entry what the app shows for it (step 1). Entries
    rewritten before are left alone, so running it twice changes nothing."""
    rewritten = 0
    entries = _licensing_entries().using(database).exclude(data__has_key=DATA_KEY).order_by("pk")
    with translation.override(settings.LANGUAGE_CODE), transaction.atomic(using=database):
        batch: list[ModelLogEntry] = []
        for entry in entries.iterator(chunk_size=BATCH_SIZE):
            action_label, message, label = readable_label(entry)
            data = entry.data if isinstance(entry.data, dict) else {"value": entry.data}
            entry.data = {**data, DATA_KEY: {"label": entry.label, "action_label": action_label,
                                             "message": message}}
            entry.label = label
            batch.append(entry)
            if len(batch) >= BATCH_SIZE:
                ModelLogEntry.objects.using(database).bulk_update(batch, ["label", "data"])
                rewritten += len(batch)
                batch = []
        if batch:
            ModelLogEntry.objects.using(database).bulk_update(batch, ["label", "data"])
            rewritten += len(batch)
    return rewritten


def uninstall(database: str = DEFAULT_DB_ALIAS, verbosity: int = 0) -> UninstallResult:
    """Steps 1 to 5. Raises ``UninstallRefused`` (changing nothing) when other apps'
    migrations depend on this app's."""
    plan = make_plan(database)
    if plan.blocking_migrations:
        raise UninstallRefused(
            "These migrations of other apps depend on wagtail_licensing's and would be "
            "unapplied too: " + ", ".join(plan.blocking_migrations) + ". Remove that "
            "dependency first. Nothing was changed.")
    result = UninstallResult(plan=plan)
    result.rewritten = rewrite_log_entries(database)
    call_command("migrate", APP_LABEL, "zero", database=database, interactive=False,
                 verbosity=verbosity)
    result.unapplied = plan.migrations
    # After migrate, which creates every installed app's content types and permissions again.
    ContentType.objects.using(database).filter(app_label=APP_LABEL).delete()
    result.deleted_content_types = len(plan.content_types)
    ContentType.objects.clear_cache()
    get_cache().delete_many([VERSION_KEY, EPOCH_KEY])
    if search_indexes.supported(database):
        try:
            result.dropped_search_indexes = [index.name
                                             for index in search_indexes.drop(database)]
        except search_indexes.SearchIndexError as error:
            result.search_indexes_error = str(error)
    return result
