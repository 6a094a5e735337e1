"""The schema fuzzer: schemathesis generates requests for every operation of the OpenAPI
document and sends them, with a license manager's read-write token, through the site's WSGI
application in this process (the API mounted as the example site mounts it, on the test
database, with a license installed). Every answer must be no 5xx and conform to the document
(status code, content type, body schema).

It runs once per CI run, not in every cell of the version matrix: `.ci/run` sets
``WAGTAIL_LICENSING_SCHEMA_FUZZ=1`` for its own step; elsewhere it is skipped. Bounded:
``MAX_EXAMPLES`` per operation and ``TIME_BOUND`` seconds in all.
"""

import os
import time

import pytest
from django.contrib.auth.models import Group
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections

from wagtail_licensing import operations

schemathesis = pytest.importorskip("schemathesis")
hypothesis = pytest.importorskip("hypothesis")

from schemathesis import checks  # noqa: E402 - after the skip

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db,
    pytest.mark.skipif(
        not os.environ.get("WAGTAIL_LICENSING_SCHEMA_FUZZ"),
        reason="run once by .ci/run (WAGTAIL_LICENSING_SCHEMA_FUZZ=1)",
    ),
]

MAX_EXAMPLES = int(os.environ.get("WAGTAIL_LICENSING_SCHEMA_FUZZ_EXAMPLES", "20"))
TIME_BOUND = 75  # seconds, for every operation together
SCHEMA = "/api/licensing/v1/schema/?format=json"
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


def fuzz(operation, headers, until):
    """Up to MAX_EXAMPLES generated requests to ``operation``, checked; stops early (after at
    least one) at ``until``. The number sent."""
    sent = 0

    @hypothesis.settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    @hypothesis.given(case=operation.as_strategy())
    def run(case):
        nonlocal sent
        if sent and time.monotonic() > until:
            return
        sent += 1
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()
    return sent


@pytest.fixture
def keep_the_test_connection():
    """What Django's test client does around each request: the handler's
    ``close_old_connections`` would close the connection holding the test's transaction
    (PostgreSQL; SQLite's in-memory database is spared)."""
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)


@pytest.mark.usefixtures("keep_the_test_connection")
def test_every_operation_conforms_to_the_document(installed, manager, make_users):
    users = make_users(5)
    # A bound group with members left without a seat: the group lists answer data to check.
    bound = Group.objects.create(name="Fuzzers")
    bound.user_set.add(*users)
    operations.bind_group_licenses(bound, "editor")
    secret = operations.create_api_token(owner=manager, name="fuzz", read_only=False).secret
    schema = schemathesis.openapi.from_wsgi(SCHEMA, get_wsgi_application())
    headers = {"Authorization": f"Bearer {secret}"}
    found = [result.ok() for result in schema.get_all_operations()]
    assert len(found) == 23, "; ".join(operation.label for operation in found)
    # Each operation gets MAX_EXAMPLES, or its share of TIME_BOUND if that comes first.
    share = TIME_BOUND / len(found)
    failures: list[str] = []
    sent: dict[str, int] = {}
    for operation in found:
        try:
            sent[operation.label] = fuzz(operation, headers, time.monotonic() + share)
        except Exception as error:  # noqa: BLE001 - every operation's failure is reported
            failures.append(f"{operation.label}: {error}")
    print(
        f"schemathesis: {sum(sent.values())} requests: "
        + ", ".join(f"{label} {n}" for label, n in sent.items())
    )
    assert not failures, "\n\n".join(failures)
