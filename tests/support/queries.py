"""The one way tests count database queries."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from wagtail_licensing.models import LicenseAssignment


class Queries:
    """The queries run inside a ``count_queries()`` block.

    ``len(queries)`` is their number; the repr lists the SQL, so a failing
    ``assert len(queries) == 2`` shows which queries ran. The list is copied when the block
    ends: Django's query log is a bounded deque, so a later flood of queries would shift what a
    live ``CaptureQueriesContext`` slice points at.
    """

    def __init__(self) -> None:
        self._captured: list[dict[str, str]] | None = None

    @property
    def captured(self) -> list[dict[str, str]]:
        if self._captured is None:
            raise RuntimeError("count the queries after the `with count_queries()` block")
        return self._captured

    def __len__(self) -> int:
        return len(self.captured)

    def __iter__(self) -> Iterator[dict[str, str]]:
        return iter(self.captured)

    @property
    def sql(self) -> list[str]:
        return [query["sql"] for query in self.captured]

    def __repr__(self) -> str:
        lines = "".join(f"\n  {number}. {sql}" for number, sql in enumerate(self.sql, 1))
        return f"<{len(self)} queries:{lines}>"


@contextmanager
def count_queries() -> Iterator[Queries]:
    """``with count_queries() as queries: ...`` then ``assert len(queries) == n``."""
    queries = Queries()
    with CaptureQueriesContext(connection) as context:
        yield queries
    queries._captured = list(context.captured_queries)


def refresh_planner_statistics() -> None:
    """On PostgreSQL, ANALYZE the tables a test has just filled with thousands of rows.

    A site's autovacuum keeps statistics current; inside a test transaction it never runs, so
    the planner believes freshly filled tables are empty and can pick nested loops that take
    minutes over thousands of rows. That is a property of the test, not of the code under test.
    """
    if connection.vendor != "postgresql":
        return
    tables = [get_user_model()._meta.db_table, LicenseAssignment._meta.db_table]
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
