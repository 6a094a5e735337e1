"""Last activity: recorded at most once a day per user, with no query on the warm path."""

from datetime import timedelta

from django.http import HttpResponse
from django.test import RequestFactory

from tests.support.enforcement import ADMIN, PAGES, grant, login, request_for
from tests.support.licenses import today
from tests.support.queries import count_queries
from wagtail_licensing import operations
from wagtail_licensing.enforcement import activity, license_required
from wagtail_licensing.middleware import LicenseEnforcementMiddleware
from wagtail_licensing.models import LicenseAssignment, PortalUser


def last_active(user, code):
    return LicenseAssignment.objects.get(user=user, product_code=code).last_active_on


def test_an_admin_request_records_the_day_once(client, editor, installed):
    grant(editor, "editor", "analytics")
    assert last_active(editor, "editor") is None
    login(client, editor)
    assert client.get(ADMIN).status_code == 200
    assert last_active(editor, "editor") == today()
    # analytics opens the admin too (ADMIN_PRODUCTS None: every named product).
    assert last_active(editor, "analytics") == today()


def test_warm_requests_make_no_query_and_no_second_write(editor, installed):
    grant(editor, "editor")
    middleware = LicenseEnforcementMiddleware(lambda request: HttpResponse())
    assert middleware.check(request_for(editor, ADMIN)) is None  # cold: records the day
    LicenseAssignment.objects.filter(user=editor).update(last_active_on=None)
    with count_queries() as queries:
        for _ in range(5):
            assert middleware.check(request_for(editor, PAGES)) is None
    assert len(queries) == 0, [q["sql"] for q in queries]
    assert last_active(editor, "editor") is None  # recorded once today already


def test_the_first_request_of_the_day_costs_one_update(editor, installed):
    grant(editor, "editor")
    middleware = LicenseEnforcementMiddleware(lambda request: HttpResponse())
    middleware.check(request_for(editor, ADMIN))
    # A new day: another key (the cache keys carry the day).
    tomorrow = today() + timedelta(days=1)
    key = activity.activity_key(editor.pk, tomorrow)
    with count_queries() as queries:
        assert activity.note_activity(editor, ["editor"], key=key, values={}, day=tomorrow)
    assert len(queries) == 1
    assert last_active(editor, "editor") == tomorrow
    assert not activity.note_activity(editor, ["editor"], key=key, values={}, day=tomorrow)


def test_an_unlicensed_or_limited_manager_records_nothing(client, editor, manager, installed):
    login(client, manager).get(ADMIN)  # licensing screens only: no license to record
    assert not LicenseAssignment.objects.filter(last_active_on__isnull=False).exists()


@license_required("portal")
def portal_view(request):
    return HttpResponse("portal content")


def test_license_required_records_front_end_use(editor, installed):
    PortalUser.objects.create(user=editor)
    operations.grant([editor], ["portal"])
    request = RequestFactory().get("/portal/")
    request.user = editor
    assert portal_view(request).status_code == 200
    assert last_active(editor, "portal") == today()
    LicenseAssignment.objects.filter(user=editor).update(last_active_on=None)
    with count_queries() as queries:
        assert portal_view(request).status_code == 200
    assert len(queries) == 0
    assert last_active(editor, "portal") is None


def test_record_activity_operation_only_moves_forward(editor, installed):
    grant(editor, "editor")
    assert operations.record_activity(editor, ["editor"], day=today()) == 1
    assert operations.record_activity(editor, ["editor"], day=today()) == 0
    assert operations.record_activity(editor, ["editor"],
                                      day=today() - timedelta(days=3)) == 0
    assert last_active(editor, "editor") == today()
