"""Running a migration's data function on the test database, as ``migrate`` would."""

from importlib import import_module
from types import SimpleNamespace

from django.apps import apps
from django.db import connection


def run_data_migration(name: str, function: str) -> None:
    """Call ``function`` of ``wagtail_licensing.migrations.<name>`` with the current apps (the
    models as they are now, which have every field it writes) and a schema editor that only
    carries the connection."""
    module = import_module(f"wagtail_licensing.migrations.{name}")
    getattr(module, function)(apps, SimpleNamespace(connection=connection))
