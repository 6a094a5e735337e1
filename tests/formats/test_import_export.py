"""Importing and exporting license assignments: the dry run, the all-or-nothing import, the
round trip, the speed guarantees, the admin screens and the command."""

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from wagtail import hooks
from wagtail.models import ModelLogEntry

from tests.support.licenses import DEFAULT_PRODUCTS, product, today
from tests.support.queries import count_queries
from wagtail_licensing import importing, operations, wording
from wagtail_licensing.exceptions import ImportOutdated, ImportRefused
from wagtail_licensing.formats import AssignmentFile, read_assignments
from wagtail_licensing.formats.reading import PARSED_MAGIC
from wagtail_licensing.models import (
    AssignmentSource,
    LicenseAssignment,
    LicensingState,
    PendingUpload,
)
from wagtail_licensing.resources import export_assignments

from .test_resources import xlsx_bytes

pytestmark = pytest.mark.django_db

FILES = Path(__file__).resolve().parents[1] / "files"
IMPORT_URL = "/admin/licensing/assignments/import/"
EXPORT_URL = "/admin/licensing/assignments/export/"


def csv_rows(*rows, header="username,product,action"):
    content = "\n".join([header, *rows]).encode()
    return read_assignments(content, filename="test.csv")


def holdings():
    return set(LicenseAssignment.objects.values_list("user__username", "product_code"))


def import_logs():
    return ModelLogEntry.objects.filter(action="wagtail_licensing.import")


@pytest.fixture
def people(installed, make_users):
    """user0..user5 (employees), portal0 (portal user), inactive0; user0 holds editor."""
    users = make_users(6)
    portal = make_users(1, prefix="portal", portal=True)
    inactive = make_users(1, prefix="inactive", active=False)
    operations.grant(users[:1], ["editor"])
    return {"users": users, "portal": portal[0], "inactive": inactive[0]}


# The dry run ---------------------------------------------------------------------------------


def test_every_row_error_has_its_row_number(people):
    assignments = read_assignments((FILES / "assignments_errors.csv").read_bytes(),
                                   filename="assignments_errors.csv")
    plan = operations.preview_import(assignments)
    assert [(error.row, error.code) for error in plan.errors] == [
        (3, "unknown_user"),
        (4, "unknown_product"),
        (5, "invalid_action"),
        (6, "type_mismatch"),
        (7, "type_mismatch"),
        (9, "inactive_user"),
        (10, "missing_user"),
        (11, "missing_product"),
    ]
    messages = [str(error) for error in plan.errors]
    assert messages[0] == "Row 3: No user has the username “nobody”."
    assert "The code “no-such-product” is not a product of the installed license" in messages[1]
    assert "“delete” is not valid: use grant or recall" in messages[2]
    assert messages[3] == ("Row 6: The user portal0 is a portal user, and CMS editor (editor) "
                           "is for employees only.")
    assert messages[4] == ("Row 7: The user user1 is an employee, and Customer portal (portal) "
                           "is for portal users only.")
    assert "The user inactive0 is inactive" in messages[5]
    assert plan.error_count == 8 and plan.has_errors
    # Row 8 (USER0) replaces row 2 (user0): the last row for a pair wins, and it is fine:
    # user0 already holds editor.
    assert plan.superseded == [(2, 8, "user0", "editor")] and plan.superseded_count == 1
    assert plan.products["editor"].unchanged == 1


def test_the_dry_run_changes_nothing(people):
    before = holdings()
    version = LicensingState.get().version
    with count_queries() as queries:
        plan = operations.preview_import(csv_rows("user1,editor,", "user0,editor,recall"))
    assert len(queries) <= 6
    assert plan.to_grant == 1 and plan.to_recall == 1 and not plan.has_errors
    assert holdings() == before
    assert LicensingState.get().version == version
    assert not import_logs().exists()


def test_preview_per_product(people):
    plan = operations.preview_import(csv_rows(
        "user0,editor,", "user1,editor,grant", "user2,editor,", "user0,analytics,recall",
        "user3,analytics,", "portal0,portal,"))
    editor, analytics, portal = (plan.products[c] for c in ("editor", "analytics", "portal"))
    assert (editor.to_grant, editor.to_recall, editor.unchanged) == (2, 0, 1)
    assert editor.grant_names == ["user1", "user2"]
    assert editor.available == 4 and editor.available_after == 2
    # Recalling what a user does not hold is "unchanged", not an error.
    assert (analytics.to_grant, analytics.to_recall, analytics.unchanged) == (1, 0, 1)
    assert analytics.available is None and analytics.available_after is None  # unlimited
    assert portal.to_grant == 1 and portal.available == 3
    assert plan.summary() == "4 to grant, 0 to recall, 2 unchanged"


def test_not_enough_seats_for_the_product_as_a_whole(people, make_users):
    more = make_users(5, prefix="more")
    rows = [f"{user.username},editor," for user in more]  # 5 new, 4 seats free
    plan = operations.preview_import(csv_rows(*rows))
    assert [(e.row, e.code, e.product) for e in plan.errors] == [
        (None, "not_enough_seats", "editor")]
    assert str(plan.errors[0]) == (
        "CMS editor (editor): the file grants it to 5 users, but only 4 of 5 seats are "
        "available. Remove rows, recall it from other users or ask your vendor for more seats.")
    # Recalls in the same file free seats first.
    plan = operations.preview_import(csv_rows(*rows, "user0,editor,recall"))
    assert not plan.has_errors
    assert plan.products["editor"].available_after == 0


def test_recall_frees_no_seat_of_an_over_allocated_product(people, make_users, install):
    holders = make_users(5, prefix="holder")
    operations.grant(holders[:4], ["editor"])  # editor: 5 of 5 used
    install(products=[product("editor", "named", 3, name="CMS editor")])  # over-allocated
    newcomer = make_users(1, prefix="new")[0]
    # Recalling two of the five active holders leaves three for three seats: none free.
    recalls = ["user0,editor,recall", "holder0,editor,recall"]
    plan = operations.preview_import(csv_rows(*recalls, f"{newcomer.username},editor,"))
    assert [e.code for e in plan.errors] == ["not_enough_seats"]
    assert "only 0 of 3 seats are available" in plan.errors[0].message
    rows = [*recalls, "holder1,editor,recall", f"{newcomer.username},editor,"]
    assert not operations.preview_import(csv_rows(*rows)).has_errors
    operations.import_assignments(csv_rows(*rows))
    seated = set(LicenseAssignment.objects.filter(product_code="editor", has_seat=True)
                 .values_list("user__username", flat=True))
    assert seated == {"holder2", "holder3", "new0"}


def test_concurrent_products_are_not_limited_by_holders(people, make_users):
    users = make_users(5, prefix="occ")
    plan = operations.preview_import(csv_rows(*[f"{u.username},occasional," for u in users]))
    assert not plan.has_errors and plan.products["occasional"].to_grant == 5


@pytest.fixture
def match_email(settings):
    settings.WAGTAIL_LICENSING = {**settings.WAGTAIL_LICENSING, "IMPORT_MATCH_EMAIL": True}


def test_users_by_username_case_insensitively(people, make_users):
    plan = operations.preview_import(csv_rows("User2,Editor,GRANT", "user3,EDITOR,Recall"))
    assert not plan.has_errors
    assert plan.products["editor"].grant_names == ["user2"]
    assert plan.products["editor"].unchanged == 1
    assert plan.matched_by_email_count == 0


def test_an_email_is_not_matched_by_default(people):
    """An editor who set a new hire's address as their own must not get the new hire's seat."""
    User = get_user_model()
    User.objects.filter(username="user4").update(email="new.hire@example.com")
    plan = operations.preview_import(csv_rows("new.hire@example.com,editor,"))
    assert [(e.row, e.code) for e in plan.errors] == [(2, "unknown_user")]
    assert "matching by e-mail is off" in plan.errors[0].message
    with pytest.raises(ImportRefused):
        operations.import_assignments(csv_rows("new.hire@example.com,editor,"))
    assert ("user4", "editor") not in holdings()


def test_users_by_email_when_the_setting_allows_it(people, match_email):
    plan = operations.preview_import(csv_rows("USER1@EXAMPLE.COM,editor,", "User2,Editor,GRANT",
                                              "user3,EDITOR,Recall"))
    assert not plan.has_errors
    assert plan.products["editor"].grant_names == ["user1", "user2"]
    assert plan.products["editor"].unchanged == 1
    assert plan.matched_by_email == [(2, "USER1@EXAMPLE.COM", "user1")]
    assert plan.matched_by_email_count == 1


def test_a_username_wins_over_an_email(people, match_email):
    User = get_user_model()
    User.objects.filter(username="user4").update(email="user5")
    plan = operations.preview_import(csv_rows("user5,editor,"))
    assert plan.products["editor"].grant_names == ["user5"] and not plan.matched_by_email


def test_an_email_shared_by_two_users_is_ambiguous(people, match_email):
    User = get_user_model()
    User.objects.filter(username__in=["user4", "user5"]).update(email="shared@example.com")
    plan = operations.preview_import(csv_rows("shared@example.com,editor,"))
    assert [(e.row, e.code) for e in plan.errors] == [(2, "ambiguous_user")]


def test_same_user_by_username_and_email_the_last_row_wins(people, match_email):
    plan = operations.preview_import(csv_rows("user1,editor,", "user1@example.com,editor,recall"))
    assert not plan.errors
    assert plan.superseded == [(2, 3, "user1", "editor")]
    assert plan.products["editor"].to_grant == 0  # row 3 recalls what user1 does not hold


def test_the_preview_marks_rows_matched_by_email(people, match_email, manager):
    client = Client()
    client.force_login(manager)
    upload = SimpleUploadedFile("people.csv", b"username,product\nuser2@example.com,editor\n")
    response = client.post(IMPORT_URL, {"file": upload}, follow=True)
    content = response.content.decode()
    assert "data-import-matched-by-email" in content
    assert "1 row names its user by e-mail address" in content
    assert "Row 2: user2@example.com is the user user2" in content


def test_products_outside_their_dates_cannot_be_granted(install, make_users):
    expired = product("old", "named", 5, valid_from=today() - timedelta(days=30),
                      valid_until=today() - timedelta(days=1))
    install(products=[*DEFAULT_PRODUCTS, expired])
    make_users(1)
    plan = operations.preview_import(csv_rows("user0,old,"))
    assert [e.code for e in plan.errors] == ["product_not_valid"]


def test_demo_mode_refuses_grants_but_allows_recalls(people):
    operations.delete_licenses()
    plan = operations.preview_import(csv_rows("user1,editor,", "user0,editor,recall"))
    assert [(e.row, e.code) for e in plan.errors] == [(2, "unknown_product")]
    assert "No license is installed" in plan.errors[0].message
    result = operations.import_assignments(csv_rows("user0,editor,recall"))
    assert result.recalled == {"editor": 1} and not holdings()


def test_recalling_a_product_nobody_holds_nor_the_license_has_is_an_error(people):
    plan = operations.preview_import(csv_rows("user1,typo,recall"))
    assert [e.code for e in plan.errors] == ["unknown_product"]


def test_errors_are_counted_beyond_those_kept(people, monkeypatch):
    monkeypatch.setattr(importing, "ERRORS_KEPT", 3)
    plan = operations.preview_import(csv_rows(*[f"ghost{i},editor," for i in range(10)]))
    assert plan.error_count == 10 and len(plan.errors) == 3 and plan.errors_left_out == 7
    assert plan.error_summary() == ("10 errors: nothing can be imported until they are "
                                    "corrected.")


# Applying ------------------------------------------------------------------------------------


def test_import_grants_and_recalls_in_one_logged_change(people, manager):
    version = LicensingState.get().version
    result = operations.import_assignments(
        csv_rows("user1,editor,", "user2,analytics,grant", "user0,editor,recall",
                 "user3,occasional,", "portal0,portal,", "user4,analytics,recall"),
        user=manager)
    assert holdings() == {("user1", "editor"), ("user2", "analytics"),
                          ("user3", "occasional"), ("portal0", "portal")}
    assert result.granted == {"editor": 1, "analytics": 1, "occasional": 1, "portal": 1}
    assert result.recalled == {"editor": 1}
    assert result.unchanged_count == 1
    assignment = LicenseAssignment.objects.get(user__username="user1")
    assert assignment.source == AssignmentSource.IMPORT and assignment.granted_by == manager
    assert assignment.has_seat
    assert LicensingState.get().version == version + 1
    entry = import_logs().get()
    assert entry.user == manager
    assert entry.data["granted"]["editor"] == {"count": 1, "users": ["user1"]}
    assert entry.data["unchanged"] == 1 and entry.data["rows"] == 6
    assert entry.message == (
        "Imported test.csv (6 rows): granted 4, recalled 1, 1 unchanged; granted analytics (1), "
        "editor (1), occasional (1), portal (1); recalled editor (1)")
    # One import, not a grant and a recall.
    assert not ModelLogEntry.objects.filter(action__in=["wagtail_licensing.grant",
                                                        "wagtail_licensing.recall"],
                                            timestamp__gte=entry.timestamp).exists()
    assert ("success", "Granted CMS editor (editor) to 1 user.") in wording.messages(result)


@pytest.mark.parametrize("bad_row", [
    "nobody,analytics,", "user1,nope,", "user1,analytics,maybe", "portal0,analytics,",
    "user2,editor,", "inactive0,analytics,",
])
def test_nothing_is_applied_when_any_row_is_in_error(people, make_users, bad_row):
    make_users(4, prefix="extra")  # with user1..user3 that is more editors than seats
    rows = ["user1,editor,", "user0,editor,recall", "user3,analytics,", bad_row]
    if bad_row == "user2,editor,":
        rows = [*rows, *[f"extra{i},editor," for i in range(4)]]
    before = holdings()
    version = LicensingState.get().version
    with pytest.raises(ImportRefused) as refused:
        operations.import_assignments(csv_rows(*rows))
    assert refused.value.plan.has_errors
    assert "nothing can be imported" in refused.value.message
    assert holdings() == before
    assert LicensingState.get().version == version
    assert not import_logs().exists()


def test_licensing_changed_since_the_preview(people):
    assignments = csv_rows("user1,editor,")
    plan = operations.preview_import(assignments)
    operations.grant([people["users"][2]], ["analytics"])
    with pytest.raises(ImportOutdated):
        operations.import_assignments(assignments, expected_version=plan.version)
    assert ("user1", "editor") not in holdings()
    plan = operations.preview_import(assignments)
    operations.import_assignments(assignments, expected_version=plan.version)
    assert ("user1", "editor") in holdings()


def test_hooks(people, manager):
    calls = []
    with hooks.register_temporarily(operations.AFTER_LICENSES_GRANTED,
                                    lambda user, result: calls.append(("granted", result))), \
            hooks.register_temporarily(operations.AFTER_LICENSES_RECALLED,
                                       lambda user, result: calls.append(("recalled", result))), \
            hooks.register_temporarily(operations.AFTER_LICENSES_IMPORTED,
                                       lambda user, result: calls.append(("imported", result))):
        result = operations.import_assignments(
            csv_rows("user1,editor,", "user2,editor,", "user0,editor,recall"), user=manager)
        kinds = [kind for kind, _result in calls]
        assert kinds == ["recalled", "granted", "imported"]
        assert calls[0][1].recalled == {"editor": ["user0"]}
        assert calls[1][1].granted == {"editor": ["user1", "user2"]}
        assert calls[2][1] is result
        calls.clear()
        operations.import_assignments(csv_rows("user1,editor,"))  # nothing changes
        assert calls == []


def test_an_import_that_changes_nothing_is_logged_without_a_new_version(people):
    version = LicensingState.get().version
    result = operations.import_assignments(csv_rows("user0,editor,", "user1,editor,recall"))
    assert not result.granted and not result.recalled and result.unchanged_count == 2
    assert wording.messages(result) == [
        ("info", "2 rows unchanged: the assignments were already as the file says.")]
    assert LicensingState.get().version == version
    assert import_logs().get().message.startswith("Imported test.csv (2 rows): granted 0")


# Round trip ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
def test_an_export_imported_back_changes_nothing(people, manager, fmt):
    User = get_user_model()
    users = people["users"]
    operations.grant(users[1:4], ["analytics", "occasional"], user=manager)
    operations.grant([people["portal"]], ["portal"])
    # Awkward but valid data: formula-like usernames, an inactive holder, no e-mail.
    odd = User.objects.create_user("=1+1", "", first_name="@Odd")
    operations.grant([odd], ["editor"])
    operations.grant([people["inactive"]], ["editor"])  # skipped: inactive
    LicenseAssignment.objects.create(user=users[5], product_code="retired")  # old license's
    users[3].is_active = False
    users[3].save()

    content, _type, _ext = export_assignments(fmt)
    before = holdings()
    version = LicensingState.get().version
    assignments = read_assignments(content, filename=f"export.{fmt}")
    plan = operations.preview_import(assignments)
    assert not plan.has_errors, [str(e) for e in plan.errors]
    assert not plan.has_changes and plan.unchanged == len(before) == len(assignments)
    result = operations.import_assignments(assignments)
    assert wording.messages(result) == [("info", f"{len(before)} rows unchanged: the assignments "
                                          "were already as the file says.")]
    assert holdings() == before
    assert LicensingState.get().version == version
    again, _type, _ext = export_assignments(fmt)
    if fmt == "xlsx":  # workbooks carry a creation time: compare the cells
        def cells(data):
            sheet = openpyxl.load_workbook(io.BytesIO(data)).active
            return [[cell.value for cell in row] for row in sheet.iter_rows()]
        assert cells(again) == cells(content)
    else:
        assert again == content


def test_edited_export_imports_the_edits(people):
    content, _type, _ext = export_assignments("csv")
    text = content.decode("utf-8-sig")
    text = text.replace("\r\n", "\r\n", 1)
    edited = text + "user5,,,,,analytics,,,,,\r\n"
    plan = operations.preview_import(read_assignments(edited.encode(), filename="e.csv"))
    assert plan.summary() == "1 to grant, 0 to recall, 1 unchanged"


# Speed ---------------------------------------------------------------------------------------


def _count_queries(make_users, prefix, n):
    users = make_users(n, prefix=prefix)
    operations.grant(users[: n // 2], ["analytics"])
    rows = ([f"{u.username},analytics," for u in users[n // 2:]]
            + [f"{u.username},analytics,recall" for u in users[: n // 4]]
            + [f"{u.username},analytics," for u in users[n // 4: n // 2]])
    assignments = csv_rows(*rows)
    with count_queries() as preview:
        plan = operations.preview_import(assignments)
    with count_queries() as applied:
        operations.import_assignments(assignments)
    assert plan.to_grant == n - n // 2 and plan.to_recall == n // 4
    return len(preview), len(applied)


@pytest.mark.slow
def test_query_count_per_batch_is_bounded(installed, make_users, monkeypatch):
    monkeypatch.setattr(importing, "batch_size", lambda: 500)
    small = _count_queries(make_users, "small", 50)
    large = _count_queries(make_users, "large", 2000)
    batches = 4
    # Per extra batch of rows: planning looks up users (1 query, 2 with misses) and their
    # assignments (1); applying deletes (1) and inserts (1) per product in the batch, each
    # with the count of users it makes or leaves license holders (1).
    assert large[0] <= small[0] + 3 * (batches - 1)
    assert large[1] <= small[1] + 5 * (batches - 1)
    assert small[1] <= 23


# Admin screens -------------------------------------------------------------------------------


def upload(client, content, name="people.csv"):
    return client.post(IMPORT_URL, {"file": SimpleUploadedFile(name, content)})


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


def test_urls_and_names():
    assert reverse("wagtail_licensing_assignments:import") == IMPORT_URL
    assert reverse("wagtail_licensing_assignments:export") == EXPORT_URL


@pytest.mark.parametrize("who", ["anonymous", "editor", "manager", "superuser"])
def test_permission_walk(installed, who, request, client):
    pending_owner = request.getfixturevalue("manager") if who != "manager" else None
    if who != "anonymous":
        client.force_login(request.getfixturevalue(who))
    if who == "editor":
        # The editor holds a license, so that what refuses them is these screens' own
        # permission check, not license enforcement.
        operations.grant([request.getfixturevalue("editor")], ["editor"])
    me = get_user_model().objects.filter(username={"superuser": "admin"}.get(who, who)).first()
    owner = me if who in ("manager", "superuser") else pending_owner
    pending = PendingUpload.store(kind=PendingUpload.Kind.ASSIGNMENTS, user=owner,
                                  filename="x.csv", content=b"username,product\nmanager,editor\n")
    preview_url = reverse("wagtail_licensing_assignments:import_preview", args=[pending.token])
    allowed = who in ("manager", "superuser")
    for url in (IMPORT_URL, preview_url, EXPORT_URL, EXPORT_URL + "?format=csv"):
        response = client.get(url)
        if allowed:
            assert response.status_code == 200, url
        elif who == "anonymous":
            assert response.status_code == 302 and "/admin/login/" in response["Location"], url
        else:  # an admin user without CanManageLicUsers: Wagtail's "no permission" redirect
            assert response.status_code == 302, url
            assert response["Location"] == reverse("wagtailadmin_home"), url
    for url, data in ((IMPORT_URL, {"file": SimpleUploadedFile("x.csv", b"username,product\n"
                                                                         b"editor,editor\n")}),
                      (preview_url, {"token": pending.token, "action": "confirm"})):
        response = client.post(url, data)
        if allowed:  # on to the preview, or back to the import page after confirming
            assert response.status_code == 302, url
        elif who == "anonymous":
            assert response.status_code == 302 and "/admin/login/" in response["Location"]
        else:
            assert response.status_code == 302
            assert response["Location"] == reverse("wagtailadmin_home")
    if not allowed:
        assert not import_logs().exists()
        assert PendingUpload.objects.filter(pk=pending.pk).exists()


def test_csrf_is_required(installed, manager):
    client = Client(enforce_csrf_checks=True)
    client.force_login(manager)
    response = upload(client, b"username,product\nmanager,editor\n")
    assert response.status_code == 403
    pending = PendingUpload.store(kind=PendingUpload.Kind.ASSIGNMENTS, user=manager,
                                  filename="x.csv", content=b"username,product\nmanager,editor\n")
    url = reverse("wagtail_licensing_assignments:import_preview", args=[pending.token])
    assert client.post(url, {"token": pending.token, "action": "confirm"}).status_code == 403
    assert not import_logs().exists()
    page = client.get(url).content.decode()
    assert page.count('name="csrfmiddlewaretoken"') >= 1


def test_upload_preview_confirm(people, manager_client, manager):
    response = upload(manager_client, b"\xef\xbb\xbfusername,product,action\n"
                                      b"user1,editor,\nuser0,editor,recall\nuser2,analytics,\n")
    assert response.status_code == 302
    pending = PendingUpload.objects.get(kind=PendingUpload.Kind.ASSIGNMENTS)
    assert response["Location"] == reverse("wagtail_licensing_assignments:import_preview",
                                           args=[pending.token])
    page = manager_client.get(response["Location"]).content.decode()
    assert 'data-product="editor"' in page and 'data-to-grant="1"' in page
    assert 'data-to-recall="1"' in page
    assert 'value="confirm"' in page
    assert holdings() == {("user0", "editor")}  # nothing yet
    version = LicensingState.get().version
    response = manager_client.post(response["Location"], {
        "token": pending.token, "version": version, "action": "confirm"}, follow=True)
    assert holdings() == {("user1", "editor"), ("user2", "analytics")}
    assert "Imported people.csv: 2 granted, 1 recalled, 0 unchanged." in \
        response.content.decode()
    assert not PendingUpload.objects.filter(pk=pending.pk).exists()
    assert import_logs().get().user == manager


def test_an_upload_is_read_once_for_its_preview_and_confirm(people, manager_client,
                                                          monkeypatch):
    """A large .xlsx takes seconds to read: reloading the preview and confirming use what the
    upload step read (issue 11, item 6)."""
    from wagtail_licensing.views import imports as import_views

    content = xlsx_bytes([["username", "product"], ["user1", "editor"], ["user2", "editor"]])
    response = upload(manager_client, content, name="people.xlsx")
    pending = PendingUpload.objects.get()
    assert bytes(pending.content) != content  # what it says, not the file
    reads = []
    monkeypatch.setattr(import_views, "read_assignments",
                        lambda *args, **kwargs: reads.append(args) or pytest.fail("read again"))
    for _ in range(2):
        page = manager_client.get(response["Location"]).content.decode()
        assert 'data-product="editor"' in page and 'data-to-grant="2"' in page
    manager_client.post(response["Location"], {
        "token": pending.token, "version": LicensingState.get().version, "action": "confirm"})
    assert reads == []
    assert holdings() == {("user0", "editor"), ("user1", "editor"), ("user2", "editor")}


def test_a_parsed_upload_round_trips():
    assignments = read_assignments(b"username,product,action,notes\nann,editor,recall,x\n"
                                   b",\nbob,analytics,,\n", filename="people.csv")
    assert AssignmentFile.loads(assignments.dumps()) == assignments
    assert AssignmentFile.loads(b"username,product\nann,editor\n") is None
    assert AssignmentFile.loads(PARSED_MAGIC + b"not zlib") is None


def test_preview_with_errors_cannot_be_confirmed(people, manager_client):
    content = b"username,product\nuser1,editor\n<script>alert(1)</script>,<b>bold</b>\n"
    response = upload(manager_client, content)
    page = manager_client.get(response["Location"]).content.decode()
    assert 'value="confirm"' not in page
    assert 'data-error="unknown_user" data-row="3"' in page
    assert "<script>alert(1)</script>" not in page and "<b>bold</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    # Posting a confirmation anyway applies nothing.
    pending = PendingUpload.objects.get()
    response = manager_client.post(response["Location"], {"token": pending.token,
                                                          "action": "confirm"}, follow=True)
    assert "Nothing was imported." in response.content.decode()
    assert holdings() == {("user0", "editor")}
    assert not import_logs().exists()


def test_confirming_an_outdated_preview_shows_it_again(people, manager_client):
    response = upload(manager_client, b"username,product\nuser1,editor\n")
    preview_url = response["Location"]
    pending = PendingUpload.objects.get()
    old_version = LicensingState.get().version
    operations.grant([people["users"][1]], ["editor"])  # somebody else was quicker
    response = manager_client.post(preview_url, {"token": pending.token,
                                                 "version": old_version, "action": "confirm"})
    assert response.status_code == 302 and response["Location"] == preview_url
    page = manager_client.get(preview_url).content.decode()
    assert "Licenses were changed since this import was previewed" in page
    assert 'data-unchanged="1"' in page
    assert not import_logs().exists()


def test_a_confirm_racing_a_deactivation_is_refused_not_a_500(people, manager_client,
                                                              monkeypatch):
    """User accounts change without the licensing lock: user2 is deactivated after the
    confirm planned the import and before it inserted the grants."""
    from wagtail_licensing.actions import imports as import_action

    response = upload(manager_client, b"username,product\nuser1,editor\nuser2,editor\n")
    preview_url = response["Location"]
    pending = PendingUpload.objects.get()
    real_build_plan = import_action.build_plan

    def plan_then_deactivate(*args, **kwargs):
        plan = real_build_plan(*args, **kwargs)
        get_user_model().objects.filter(username="user2").update(is_active=False)
        return plan

    monkeypatch.setattr(import_action, "build_plan", plan_then_deactivate)
    response = manager_client.post(preview_url, {"token": pending.token,
                                                 "version": LicensingState.get().version,
                                                 "action": "confirm"})
    assert response.status_code == 302 and response["Location"] == preview_url
    monkeypatch.undo()
    page = manager_client.get(preview_url).content.decode()
    assert "was deactivated or changed while the file was imported" in page
    assert ("user1", "editor") not in holdings() and ("user2", "editor") not in holdings()
    assert not import_logs().exists()
    assert PendingUpload.objects.filter(pk=pending.pk).exists()  # it can still be confirmed


def test_cancel(people, manager_client):
    response = upload(manager_client, b"username,product\nuser1,editor\n")
    pending = PendingUpload.objects.get()
    response = manager_client.post(response["Location"], {"token": pending.token,
                                                          "action": "cancel"}, follow=True)
    assert "Import of people.csv cancelled. Nothing was changed." in response.content.decode()
    assert not PendingUpload.objects.exists()
    assert holdings() == {("user0", "editor")}


def test_someone_elses_upload_is_not_shown(people, manager_client, superuser):
    pending = PendingUpload.store(kind=PendingUpload.Kind.ASSIGNMENTS, user=superuser,
                                  filename="theirs.csv", content=b"username,product\nuser1,"
                                                                 b"editor\n")
    url = reverse("wagtail_licensing_assignments:import_preview", args=[pending.token])
    response = manager_client.get(url, follow=True)
    assert "uploaded by another license manager" in response.content.decode()
    assert "theirs.csv" not in response.content.decode()
    manager_client.post(url, {"token": pending.token, "action": "confirm"})
    assert ("user1", "editor") not in holdings()


@pytest.mark.parametrize(("content", "name", "message"), [
    (b"name,product\nann,editor\n", "x.csv", "a user column"),
    ((FILES / "assignments_not_utf8.csv").read_bytes(), "x.csv", "CSV UTF-8"),
    (b"username,product\n", "x.csv", "no rows to import"),
])
def test_unreadable_uploads_are_refused_on_the_form(installed, manager_client, content, name,
                                                    message):
    response = upload(manager_client, content, name)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not PendingUpload.objects.exists()


def test_upload_size_limit(installed, manager_client, settings):
    settings.WAGTAIL_LICENSING = {"IMPORT_MAX_FILE_SIZE": 1024}
    response = upload(manager_client, b"username,product\n" + b"someone,editor\n" * 100)
    assert "the largest file accepted is 1.0 KB" in response.content.decode()
    assert not PendingUpload.objects.exists()


def test_a_waiting_file_over_lowered_limits_is_dropped(people, manager_client, settings):
    response = upload(manager_client, b"username,product\nuser1,editor\nuser2,editor\n")
    settings.WAGTAIL_LICENSING = {"IMPORT_MAX_ROWS": 1}
    response = manager_client.get(response["Location"], follow=True)
    assert "The file has more than 1 row, the most accepted" in response.content.decode()
    assert not PendingUpload.objects.exists()


def test_upload_xlsx_and_json(people, manager_client):
    workbook = openpyxl.Workbook()
    workbook.active.append(["Username", "Product code"])
    workbook.active.append(["user1", "editor"])
    stream = io.BytesIO()
    workbook.save(stream)
    response = upload(manager_client, stream.getvalue(), "people.xlsx")
    page = manager_client.get(response["Location"]).content.decode()
    assert 'data-to-grant="1"' in page and "(XLSX, 1 row)" in page
    response = upload(manager_client, json.dumps([{"username": "user2", "product": "editor"}])
                      .encode(), "people.json")
    page = manager_client.get(response["Location"]).content.decode()
    assert 'data-to-grant="1"' in page


def test_export_view_downloads(people, manager_client):
    page = manager_client.get(EXPORT_URL).content.decode()
    assert "1 license assignment:" in page
    assert 'href="?format=xlsx"' in page
    response = manager_client.get(EXPORT_URL + "?format=csv")
    assert response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"].startswith(
        'attachment; filename="license-assignments-')
    assert response.streaming  # sent as it is written, never built whole in memory
    assert response.getvalue().decode("utf-8-sig").splitlines()[1].startswith("user0,")
    response = manager_client.get(EXPORT_URL + "?export=json")  # Wagtail's parameter name
    assert json.loads(response.getvalue())[0]["Username"] == "user0"
    page = manager_client.get(EXPORT_URL + "?format=pdf").content.decode()
    assert "is not an export format" in page


def test_export_honours_the_system_users_filters(people, manager_client):
    users = people["users"]
    operations.grant(users[1:3], ["analytics"])
    operations.grant(users[1:2], ["editor"])
    users[2].is_active = False
    users[2].save()

    def exported(query):
        response = manager_client.get(f"{EXPORT_URL}?{query}&format=json")
        return {(row["Username"], row["Product code"])
                for row in json.loads(response.getvalue())}

    assert exported("is_active=true") == {("user0", "editor"), ("user1", "editor"),
                                          ("user1", "analytics")}
    assert exported("product=analytics") == {("user1", "analytics"), ("user2", "analytics")}
    assert exported("q=user1") == {("user1", "editor"), ("user1", "analytics")}
    page = manager_client.get(f"{EXPORT_URL}?product=analytics").content.decode()
    assert "2 license assignments (of 4) match the System users filters." in page
    assert 'href="?product=analytics&amp;format=csv"' in page
    # A filter that is not valid exports nothing rather than everything.
    response = manager_client.get(f"{EXPORT_URL}?product=nonsense&format=csv")
    assert response["Content-Type"].startswith("text/html")
    assert "Some filters are not valid" in response.content.decode()


def test_system_users_export_button_carries_the_listing_filters(people, manager_client):
    url = reverse("wagtail_licensing_users:index")
    page = manager_client.get(f"{url}?product=analytics&q=user1&p=1").content.decode()
    assert "Export licenses" in page
    href = EXPORT_URL + page.split(f'href="{EXPORT_URL}', 1)[1].split('"', 1)[0]
    query = href.replace("&amp;", "&").partition("?")[2]
    assert sorted(query.split("&")) == ["product=analytics", "q=user1"]  # not the page
    page = manager_client.get(url).content.decode()
    assert f'href="{EXPORT_URL}"' in page  # unfiltered: everything


def test_license_manager_actions_link_import_and_export(installed, manager_client):
    url = reverse("wagtail_licensing:license_manager")
    page = manager_client.get(url).content.decode()
    assert f'href="{IMPORT_URL}"' in page and f'href="{EXPORT_URL}"' in page


# The command ---------------------------------------------------------------------------------


def test_command_export(people, tmp_path):
    out = io.StringIO()
    call_command("licensing", "export", "--format", "json", stdout=out)
    assert json.loads(out.getvalue())[0]["Username"] == "user0"
    target = tmp_path / "assignments.xlsx"
    err = io.StringIO()
    call_command("licensing", "export", "--format", "xlsx", "-o", str(target), stderr=err)
    assert openpyxl.load_workbook(target).active["A2"].value == "user0"
    assert f"Wrote 1 license assignment to {target}." in err.getvalue()
    with pytest.raises(CommandError, match="XLSX is binary"):
        call_command("licensing", "export", "--format", "xlsx")


def test_command_import_dry_run_then_import(people, tmp_path):
    path = tmp_path / "people.csv"
    path.write_bytes(b"username,product,action\nuser1,editor,\nuser0,editor,recall\n")
    out = io.StringIO()
    call_command("licensing", "import", str(path), "--dry-run", stdout=out)
    text = out.getvalue()
    assert "people.csv: 2 rows (csv)." in text
    assert "CMS editor (editor)" in text and "Dry run: nothing was imported." in text
    assert holdings() == {("user0", "editor")}
    out = io.StringIO()
    call_command("licensing", "import", str(path), stdout=out)
    assert "Imported people.csv: 1 granted, 1 recalled, 0 unchanged." in out.getvalue()
    assert holdings() == {("user1", "editor")}
    entry = import_logs().get()
    assert entry.user is None and entry.data["filename"] == "people.csv"


def test_command_import_errors(people, tmp_path):
    path = FILES / "assignments_errors.csv"
    out = io.StringIO()
    with pytest.raises(CommandError, match="8 errors: nothing can be imported"):
        call_command("licensing", "import", str(path), stdout=out)
    assert "Row 3: No user has the username “nobody”." in out.getvalue()
    assert holdings() == {("user0", "editor")}
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("licensing", "import", str(tmp_path / "missing.csv"))
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"who,what\nann,editor\n")
    with pytest.raises(CommandError, match="a user column"):
        call_command("licensing", "import", str(bad))


def test_a_recall_row_added_to_an_export_wins(people, manager_client, manager):
    """Issue 12 item 16: a `recall` row added under the export's row for the same pair is the
    one imported (it was refused as a duplicate), and the preview says which row it replaces."""
    operations.grant(people["users"][1:2], ["editor"])
    exported = manager_client.get(EXPORT_URL + "?format=csv")
    text = (b"".join(exported.streaming_content) if exported.streaming
            else exported.content).decode("utf-8-sig")
    # Edited by hand: an Action column, and a recall row under user1's own row.
    rows = list(csv.reader(io.StringIO(text)))
    rows = [rows[0] + ["Action"]] + [row + [""] for row in rows[1:]]
    rows += [row[:-1] + ["recall"] for row in rows[1:] if row[0] == "user1"]
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    content = out.getvalue().encode()
    response = manager_client.post(IMPORT_URL, {"file": SimpleUploadedFile("edited.csv",
                                                                           content)})
    page = manager_client.get(response["Location"]).content.decode()
    assert "data-import-superseded" in page
    assert "replaced by a later row for the same user and product" in page
    assert "Duplicate of row" not in page
    assert 'data-to-recall="1"' in page and 'value="confirm"' in page
    pending = PendingUpload.objects.get(kind=PendingUpload.Kind.ASSIGNMENTS)
    manager_client.post(response["Location"], {
        "token": pending.token, "action": "confirm",
        "version": LicensingState.get().version})
    assert ("user1", "editor") not in holdings()
    assert ("user0", "editor") in holdings()
