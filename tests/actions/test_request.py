"""The license request (.tlr) a manager sends to the vendor."""

import json
from datetime import datetime

import pytest
from django.utils import timezone
from wagtail.models import ModelLogEntry, Site

from wagtail_licensing import __version__, operations
from wagtail_licensing.exceptions import InvalidLicenseRequest
from wagtail_licensing.models import LicensingState

pytestmark = pytest.mark.django_db


def test_request_in_demo_mode(superuser):
    request = operations.create_license_request(user=superuser, company_id="ACME",
                                                license_version="2.0")
    today = timezone.localdate().strftime("%Y%m%d")  # the site's date, in its time zone
    assert request.filename == f"LicenseRequest-ACME-{today}.tlr"
    data = json.loads(request.content)
    assert data["type"] == "wagtail-licensing/license-request"
    assert data["format"] == 1
    assert data["company_id"] == "ACME"
    assert data["instance_id"] == str(LicensingState.get().instance_id)
    assert data["license_version"] == "2.0"
    assert data["generated_by"] == "admin"
    assert data["installed_license_id"] is None
    assert data["usage"] == []
    assert data["active_users"] == 1
    assert data["software"]["wagtail-licensing"] == __version__
    assert {"wagtail", "django"} <= set(data["software"])
    assert data["site"]["hostname"] == "localhost"
    entry = ModelLogEntry.objects.get(action="wagtail_licensing.request")
    assert request.filename in entry.message


def test_request_reports_usage_and_defaults_to_installed_company(install, make_users):
    install(company_id="ACME", license_id="LIC-R")
    operations.grant(make_users(3), ["editor"])
    request = operations.create_license_request()
    data = request.data
    assert data["company_id"] == "ACME"
    assert data["installed_license_id"] == "LIC-R"
    assert data["license_version"] == "1.0"  # the installed license's, not this app's version
    usage = {row["code"]: row for row in data["usage"]}
    assert usage["editor"] == {"code": "editor", "type": "named", "seats": 5, "used": 3}
    assert usage["analytics"]["seats"] is None


def test_request_without_company_is_refused(settings, vendor):
    settings.WAGTAIL_LICENSING = {"VENDOR_PUBLIC_KEYS": {vendor.kid: vendor.public_pem}}
    with pytest.raises(InvalidLicenseRequest, match="company ID"):
        operations.create_license_request()
    assert not ModelLogEntry.objects.exists()


def test_company_id_is_made_safe_for_the_file_name(db):
    request = operations.create_license_request(company_id="ACME/../Ltd Co")
    assert "/" not in request.filename and " " not in request.filename
    assert request.data["company_id"] == "ACME/../Ltd Co"


def test_request_has_every_field_of_the_format(install, superuser, make_users):
    install(company_id="ACME", license_id="LIC-T")
    make_users(2, active=False)
    Site.objects.filter(is_default_site=True).update(site_name="Acme intranet",
                                                     hostname="intranet.example")
    before = timezone.now().replace(microsecond=0)
    request = operations.create_license_request(user=superuser, license_version="4.2")
    data = json.loads(request.content.decode("utf-8"))
    assert set(data) == {"type", "format", "company_id", "instance_id", "license_version",
                         "generated_at", "generated_by", "site", "installed_license_id",
                         "usage", "active_users", "usage_summary", "software"}
    generated_at = datetime.fromisoformat(data["generated_at"])
    assert generated_at.tzinfo is not None and generated_at >= before
    local_day = timezone.localdate(generated_at).strftime("%Y%m%d")
    assert request.filename == f"LicenseRequest-ACME-{local_day}.tlr"
    assert data["site"] == {"name": "Acme intranet", "hostname": "intranet.example"}
    assert data["active_users"] == 1  # the two inactive users are not counted
    assert {"wagtail-licensing", "wagtail", "django"} <= set(data["software"])
    assert {tuple(sorted(row)) for row in data["usage"]} == {("code", "seats", "type", "used")}
    assert request.content_type == "application/json"


def test_file_name_carries_the_sites_local_date(db, settings):
    from datetime import UTC
    from datetime import datetime as dt
    from unittest import mock

    settings.TIME_ZONE = "Pacific/Kiritimati"  # UTC+14: already the next day at 20:00 UTC
    with mock.patch("wagtail_licensing.actions.request.timezone.now",
                    return_value=dt(2026, 11, 28, 20, 0, tzinfo=UTC)):
        request = operations.create_license_request(company_id="ACME")
    assert request.filename == "LicenseRequest-ACME-20261129.tlr"
