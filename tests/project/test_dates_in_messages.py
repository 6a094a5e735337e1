"""Dates reach messages in the admin's date format, never as ISO strings (issue 12 item 9)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils.formats import date_format

from tests.support.licenses import product, today
from wagtail_licensing import operations, wording
from wagtail_licensing.exceptions import LicenseRefused
from wagtail_licensing.resources import read_assignments


def later_product():
    start, end = today() + timedelta(days=2), today() + timedelta(days=20)
    return product("later", valid_from=start, valid_until=end), start, end


def assert_admin_dates(text, *days):
    for day in days:
        assert day.isoformat() not in text
        assert date_format(day, "DATE_FORMAT") in text


def test_every_product_expired_refusal(make_license, db):
    expired = today() - timedelta(days=1)
    with pytest.raises(LicenseRefused) as refused:
        operations.install_license_file(make_license(products=[
            product("editor", valid_from=expired - timedelta(days=30), valid_until=expired)]))
    assert_admin_dates(refused.value.message, expired)


def test_upload_preview_expired_warning(make_license, db):
    expired = today() - timedelta(days=1)
    preview = operations.preview_upload(make_license(products=[
        product("editor"),
        product("old", valid_from=expired - timedelta(days=30), valid_until=expired)]))
    assert_admin_dates(" ".join(str(w) for w in preview.warnings), expired)


def test_grant_refusal_and_product_page(install, make_users, manager, client):
    later, start, end = later_product()
    install(products=[later, product("editor")])
    result = operations.grant(make_users(1), ["later"])
    assert_admin_dates(wording.refusal_text(result.refused["later"]), start, end)
    client.force_login(manager)
    response = client.get(reverse("wagtail_licensing:product_grant", args=["later"]))
    assert_admin_dates(response.content.decode(), start, end)


def test_import_row_for_a_product_not_valid_today(install, make_users):
    later, start, end = later_product()
    install(products=[later, product("editor")])
    (person,) = make_users(1)
    rows = read_assignments(f"username,product,action\n{person.username},later,".encode(),
                            filename="test.csv")
    plan = operations.preview_import(rows)
    assert_admin_dates(" ".join(str(error.message) for error in plan.errors), start, end)
