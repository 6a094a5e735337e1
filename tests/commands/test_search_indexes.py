"""``manage.py licensing search-indexes``: trigram indexes on PostgreSQL that the exact SQL of
a users search reads, created once, rebuilt when invalid, dropped by ``--drop`` and by the
uninstall; refused with a reason, changing nothing, on other databases."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.db.backends.utils import CursorWrapper

from wagtail_licensing import search_indexes
from wagtail_licensing.filters import filter_users, search_fields

pytestmark = pytest.mark.django_db


def run(*args):
    out = StringIO()
    call_command("licensing", "search-indexes", *args, stdout=out)
    return out.getvalue()


def test_one_index_for_each_column_a_search_reads():
    User = get_user_model()
    indexes = search_indexes.wanted()
    assert [index.column for index in indexes] == [
        User._meta.get_field(name).column for name in search_fields(User)]
    assert all(len(index.name) <= 63 and index.table == User._meta.db_table
               for index in indexes)
    assert len({index.name for index in indexes}) == len(indexes)


def test_other_databases_are_told_why_and_nothing_changes():
    if connection.vendor == "postgresql":
        pytest.skip("the refusal of databases without trigram indexes")
    tables = connection.introspection.table_names()
    with pytest.raises(CommandError, match="Trigram indexes are PostgreSQL's.*sqlite.*Nothing "
                                           "was changed"):
        run()
    assert connection.introspection.table_names() == tables


def _plan(sql, params):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a test table is small
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.django_db(transaction=True)
def test_postgresql_searches_read_the_indexes_created_once_and_dropped(postgresql_only):
    try:
        output = run()
        assert "Created 4 search indexes" in output
        assert all(search_indexes.existing().get(index.name)
                   for index in search_indexes.wanted())
        assert "Created 0 search indexes" in run()  # once
        # The SQL System users runs for a search (Django's icontains) is what they index.
        query = filter_users({"q": "grace"}).order_by().values("pk").query
        sql, params = query.sql_with_params()
        with transaction.atomic():
            # Django's own SQL of the search, counted as the paginator counts it.
            plan = _plan(f"SELECT COUNT(*) FROM ({sql}) AS matches", params)  # noqa: S608
        assert plan.count("Bitmap Index Scan on wl_trgm_") == 4, plan
        # A failed concurrent build leaves an invalid index: the next run rebuilds it.
        first = search_indexes.wanted()[0].name
        with connection.cursor() as cursor:
            cursor.execute("UPDATE pg_index SET indisvalid = false WHERE indexrelid = "
                           "%s::regclass", [first])
        assert search_indexes.existing()[first] is False
        assert f"created {first}" in run()
        assert search_indexes.existing()[first] is True
        assert "Dropped 4 search indexes" in run("--drop")
        assert search_indexes.existing() == {}
    finally:
        search_indexes.drop()


@pytest.mark.django_db(transaction=True)
def test_postgresql_refusal_says_what_to_do(postgresql_only, monkeypatch):
    def refuse(cursor_self, sql, params=None):
        if "CREATE EXTENSION" in sql:
            raise DatabaseError("permission denied to create extension \"pg_trgm\"")
        return original(cursor_self, sql, params)

    original = CursorWrapper.execute
    monkeypatch.setattr(CursorWrapper, "execute", refuse)
    with pytest.raises(CommandError, match="permission denied.*CREATE EXTENSION pg_trgm"):
        run()
    monkeypatch.undo()
    assert search_indexes.existing() == {}


def test_the_check_is_quiet_where_there_is_no_trigram_index_to_make():
    from wagtail_licensing.checks import check_search_indexes

    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL: see below")
    assert check_search_indexes(databases=["default"]) == []
    assert check_search_indexes(databases=None) == []  # plain `check`: no database


@pytest.mark.django_db(transaction=True)
def test_the_check_suggests_the_indexes_to_a_large_postgresql_site(postgresql_only,
                                                                    monkeypatch, make_users):
    from wagtail_licensing import checks

    make_users(3)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {get_user_model()._meta.db_table}")  # noqa: S608
    monkeypatch.setattr(checks, "SEARCH_INDEX_USERS", 3)
    try:
        [warning] = checks.check_search_indexes(databases=["default"])
        assert warning.id == "wagtail_licensing.W060"
        assert "licensing search-indexes --database default" in warning.hint
        monkeypatch.setattr(checks, "SEARCH_INDEX_USERS", 4)
        assert checks.check_search_indexes(databases=["default"]) == []  # a small site
        monkeypatch.setattr(checks, "SEARCH_INDEX_USERS", 3)
        run()
        assert checks.check_search_indexes(databases=["default"]) == []  # indexed
    finally:
        search_indexes.drop()
