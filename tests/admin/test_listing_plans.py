"""The listings' queries use the indexes that keep a page from reading or sorting every row.

SQLite only: without ``ANALYZE`` its plans (``EXPLAIN QUERY PLAN``) do not depend on how many
rows the tables hold, so a handful of rows gives the plan that 100,000 users would.
``benchmarks/pages.py`` measures the pages at that size, on PostgreSQL too.
"""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.urls import reverse

from tests.support.queries import count_queries
from wagtail_licensing import operations
from wagtail_licensing.models import LicenseAssignment

User = get_user_model()

pytestmark = pytest.mark.skipif(connection.vendor != "sqlite",
                                reason="SQLite's plans do not depend on table statistics")


def plan(sql):
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql)
        return [row[3] for row in cursor.fetchall()]


def the_query(queries, *fragments):
    """The one query of the page whose SQL holds every fragment."""
    matches = [sql for sql in queries.sql if all(fragment in sql for fragment in fragments)]
    assert len(matches) == 1, queries
    return matches[0]


@pytest.fixture
def holders(installed, make_users, manager):
    """60 holders of analytics (more than a page of either listing), one without a seat."""
    users = make_users(60)
    operations.grant(users + [manager], ["analytics"])
    LicenseAssignment.objects.filter(user=users[0]).update(has_seat=False)
    return users


def test_system_users_first_page_reads_the_username_index(client, holders, manager):
    client.force_login(manager)
    with count_queries() as queries:
        assert client.get(reverse("wagtail_licensing_users:index")).status_code == 200
    steps = plan(the_query(queries, 'FROM "auth_user"', "LIMIT 50"))
    assert any("sqlite_autoindex_auth_user_1" in step for step in steps), steps
    assert not any("TEMP B-TREE FOR ORDER BY" in step for step in steps), steps


def test_without_a_seat_probes_the_partial_index(client, holders, manager):
    client.force_login(manager)
    with count_queries() as queries:
        response = client.get(reverse("wagtail_licensing_users:index"),
                              {"licensed": "without_seat"})
    assert [user.username for user in response.context["object_list"]] == [
        holders[0].username]
    # The count reads the users of the assignments without a seat from that index alone.
    steps = plan(the_query(queries, "COUNT(*)", '"has_seat"'))
    assert any("wagtail_lic_no_seat_idx" in step for step in steps), steps
    assert not any("auth_user" in step for step in steps), steps


def test_product_holders_page_reads_the_granted_index(client, holders, manager):
    client.force_login(manager)
    with count_queries() as queries:
        response = client.get(reverse("wagtail_licensing:product", args=["analytics"]))
    assert response.context["paginator"].count == 61
    steps = plan(the_query(queries, 'FROM "wagtail_licensing_licenseassignment"', "LIMIT 20"))
    assert any("wagtail_lic_granted_idx" in step for step in steps), steps
    assert not any("TEMP B-TREE FOR ORDER BY" in step for step in steps), steps
