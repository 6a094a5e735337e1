"""Trigram indexes for searching users on PostgreSQL: ``manage.py licensing search-indexes``.

A search of System users, a product's holders or Add users (and of Wagtail's own Users
listing) finds the users whose username, e-mail or name contains each word, with
``UPPER(column::text) LIKE UPPER('%word%')`` (Django's ``icontains``). No B-tree index can
answer a pattern that starts with ``%``, so counting the matches reads every user: at 100,000
users, 30 ms of the 95 ms a searched page takes on PostgreSQL. A GIN index of the column's
trigrams (``pg_trgm``) answers the same condition (words of three characters or more) from
the index: 4 ms. The indexes are on the user table, which the app does not own, so they are
opt-in: the command creates them (``CREATE INDEX CONCURRENTLY``: writes to the users go on
meanwhile) and ``--drop`` removes them; ``licensing uninstall`` removes them too. Nothing
here runs on other databases, whose searches read every user.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from .filters import search_fields

EXTENSION = "pg_trgm"


@dataclass(frozen=True)
class SearchIndex:
    """One trigram index: of ``column`` of the user table ``table``."""

    name: str
    table: str
    column: str


class SearchIndexError(Exception):
    """The database refused (no ``pg_trgm``, no right to create it): the reason, in words."""


def supported(using: str = DEFAULT_DB_ALIAS) -> bool:
    return connections[using].vendor == "postgresql"


def wanted() -> list[SearchIndex]:
    """An index for each column System users searches (``filters.search_fields``)."""
    User = get_user_model()
    table = User._meta.db_table
    found = []
    for name in search_fields(User):
        column = getattr(User._meta.get_field(name), "column", None)
        if not isinstance(column, str):
            continue
        digest = hashlib.sha256(f"{table}.{column}".encode()).hexdigest()[:8]
        # PostgreSQL keeps 63 bytes of a name: the digest keeps long ones apart.
        found.append(SearchIndex(f"wl_trgm_{column[:40]}_{digest}", table, column))
    return found


def existing(using: str = DEFAULT_DB_ALIAS) -> dict[str, bool]:
    """The wanted indexes there are, by name, and whether each is valid (a concurrent build
    that failed leaves an invalid index, which PostgreSQL never uses)."""
    names = [index.name for index in wanted()]
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, i.indisvalid FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = ANY(%s)", [names])
        return dict(cursor.fetchall())


def estimated_users(using: str = DEFAULT_DB_ALIAS) -> int | None:
    """PostgreSQL's estimate of the rows of the user table (what ``ANALYZE`` last saw: no
    count), or None before the table was ever analysed."""
    connection = connections[using]
    table = connection.ops.quote_name(get_user_model()._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s)", [table])
        row = cursor.fetchone()
    if row is None or row[0] is None or row[0] < 0:
        return None
    return int(row[0])


def missing(using: str = DEFAULT_DB_ALIAS) -> list[SearchIndex]:
    """The wanted indexes there are not, or not valid."""
    there = existing(using)
    return [index for index in wanted() if not there.get(index.name)]


def create(using: str = DEFAULT_DB_ALIAS) -> list[SearchIndex]:
    """Create the extension and the missing indexes (rebuilding invalid ones); returns the
    indexes created. Concurrently, unless called inside a transaction."""
    connection = connections[using]
    quote = connection.ops.quote_name
    concurrently = "" if connection.in_atomic_block else " CONCURRENTLY"
    there = existing(using)
    created = []
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE EXTENSION IF NOT EXISTS {EXTENSION}")
            for index in wanted():
                if there.get(index.name):
                    continue
                if index.name in there:  # invalid: a failed concurrent build
                    cursor.execute(f"DROP INDEX{concurrently} IF EXISTS {quote(index.name)}")
                cursor.execute(
                    f"CREATE INDEX{concurrently} {quote(index.name)} ON {quote(index.table)} "
                    f"USING gin ((UPPER({quote(index.column)}::text)) gin_trgm_ops)")
                created.append(index)
    except DatabaseError as error:
        raise SearchIndexError(str(error).strip()) from error
    return created


def drop(using: str = DEFAULT_DB_ALIAS) -> list[SearchIndex]:
    """Drop the indexes there are (the extension stays: other code may use it)."""
    connection = connections[using]
    concurrently = "" if connection.in_atomic_block else " CONCURRENTLY"
    there = existing(using)
    dropped = [index for index in wanted() if index.name in there]
    try:
        with connection.cursor() as cursor:
            for index in dropped:
                cursor.execute(f"DROP INDEX{concurrently} IF EXISTS "
                               f"{connection.ops.quote_name(index.name)}")
    except DatabaseError as error:
        raise SearchIndexError(str(error).strip()) from error
    return dropped
