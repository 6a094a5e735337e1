"""With a cache shared between processes, a change made in one process takes effect in every
other on its next request: two cache clients on the same FileBasedCache directory, and a real
second Python process."""

import os
import subprocess
import sys
import textwrap
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import pytest
from django.core.cache import caches
from django.core.cache.backends.filebased import FileBasedCache

from tests.support.enforcement import grant
from tests.support.queries import count_queries
from wagtail_licensing import enforcement, operations
from wagtail_licensing.enforcement import AdminAccess
from wagtail_licensing.models import LicensingState

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def shared_dir(settings, tmp_path):
    location = tmp_path / "cache"
    settings.CACHES = {**settings.CACHES, "shared": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(location)}}
    settings.WAGTAIL_LICENSING = {**settings.WAGTAIL_LICENSING, "CACHE_ALIAS": "shared"}
    caches["shared"].clear()
    yield location
    caches["shared"].clear()


@contextmanager
def other_process(location):
    """Run the check through another cache client on the same directory, as another process
    of the site would."""
    other = FileBasedCache(str(location), {})
    with mock.patch("wagtail_licensing.enforcement.snapshot.get_cache", return_value=other), \
            mock.patch("wagtail_licensing.cache.get_cache", return_value=other):
        yield other


def test_changes_reach_the_other_cache_client(shared_dir, editor, manager, installed):
    grant(editor, "editor")
    assert enforcement.get_access(editor).admin == AdminAccess.FULL  # warms the shared cache
    with other_process(shared_dir), count_queries() as queries:
        assert enforcement.get_access(editor).admin == AdminAccess.FULL
    assert len(queries) == 0  # the other process reuses the decision

    operations.recall([editor], ["editor"])  # published to the shared cache after commit
    with other_process(shared_dir):
        assert enforcement.get_access(editor).admin == AdminAccess.DENIED

    manager_group = manager.groups.get()
    editor.groups.add(manager_group)  # a permission change, not a licensing one
    editor = type(editor).objects.get(pk=editor.pk)  # a new request: permissions not cached
    with other_process(shared_dir):
        assert enforcement.get_access(editor).admin == AdminAccess.LICENSING


SCRIPT = textwrap.dedent("""
    import django
    django.setup()
    from django.db import DatabaseError, connection
    from wagtail_licensing import enforcement
    from wagtail_licensing.models import LicensingState

    # This process's own database holds only the licensing state's version and access epoch
    # as they were before the change: its recheck finds nothing new there, so only the shared
    # cache can tell it of the change.
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {{LicensingState._meta.db_table}} "
                       "(id integer PRIMARY KEY, version bigint, access_epoch bigint)")
        cursor.execute(f"INSERT INTO {{LicensingState._meta.db_table}} VALUES (1, %s, %s)",
                       {state!r})

    class User:  # the user as request.user would give it; the database is never asked
        pk = {pk!r}
        is_authenticated = True
        is_active = True

    try:
        print(enforcement.lookup(User()).access.admin)
    except DatabaseError:
        print("stale: needs the database")
""")


def run_other_process(tmp_path, location, user, state):
    settings_module = tmp_path / "other_process_settings.py"
    settings_module.write_text(textwrap.dedent(f"""
        from tests.settings import *  # noqa: F403
        # This process has its own database (see SCRIPT): only the shared cache can answer.
        DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}}}
        CACHES = {{"default": {{
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": {str(location)!r}}}}}
    """))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "other_process_settings",
           "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    env.pop("DATABASE_URL", None)
    result = subprocess.run([sys.executable, "-c", SCRIPT.format(pk=user.pk, state=state)], env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.slow
def test_a_second_process_sees_the_change(shared_dir, tmp_path, editor, installed):
    grant(editor, "editor")
    enforcement.get_access(editor)
    before = list(LicensingState.objects.values_list("version", "access_epoch").get())
    assert run_other_process(tmp_path, shared_dir, editor, before) == AdminAccess.FULL
    operations.recall([editor], ["editor"])
    assert run_other_process(tmp_path, shared_dir, editor, before) == \
        "stale: needs the database"
