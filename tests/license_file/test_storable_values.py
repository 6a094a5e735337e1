"""Every value of a license file fits what a site stores, or the file is refused when it is read
(issue 11, items 3 and 4): at the upload form, the preview, ``licensing upload --dry-run`` and
confirm, never a server error and nothing installed; and the vendor's tool refuses to sign it.
"""

import html
import json
from datetime import date, datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.backends.base.operations import BaseDatabaseOperations
from django.urls import reverse

from tests.support.licenses import Vendor, product
from wagtail_licensing import license_file
from wagtail_licensing.exceptions import InvalidLicenseFile
from wagtail_licensing.license_file import (
    EARLIEST_TIMESTAMP,
    LATEST_TIMESTAMP,
    MAX_ID_LENGTH,
    MAX_NAME_LENGTH,
    MAX_SEATS,
    parse_payload,
)
from wagtail_licensing.models import LicensedProduct, LicenseFile, LicensingState, PendingUpload
from wagtail_licensing.vendor import main as vendor_main

UPLOAD = "/admin/licensing/upload/"
FAR_FUTURE = "9999-12-31T23:59:59-01:00"  # valid RFC 3339; year 10000 in UTC
LONG = "L" * (MAX_ID_LENGTH + 1)


def snapshot():
    state = LicensingState.get()
    return (state.installed_file_id, state.version, LicenseFile.objects.count(),
            LicensedProduct.objects.count())


def payload_bytes(make_payload, **overrides):
    return json.dumps(make_payload(**overrides)).encode()


# The rule, in the parser --------------------------------------------------------------------

def test_limits_are_the_models_limits():
    fields = {f.name: f for f in LicenseFile._meta.get_fields() if hasattr(f, "max_length")}
    for name in ("license_id", "company_id", "instance_id", "license_version", "kid"):
        assert fields[name].max_length == MAX_ID_LENGTH
    assert LicensedProduct._meta.get_field("name").max_length == MAX_NAME_LENGTH
    assert LicensedProduct._meta.get_field("code").max_length == 64  # CODE_RE's 64
    seats = LicensedProduct._meta.get_field("seats").get_internal_type()
    assert BaseDatabaseOperations.integer_field_ranges[seats] == (0, MAX_SEATS)


@pytest.mark.parametrize("issued_at", [
    FAR_FUTURE, "9999-01-01T00:00:00Z", "9999-12-31T23:59:59+00:00",
    "0001-01-01T00:00:00+01:00", "1969-12-31T23:59:59Z", "1970-01-01T00:30:00+01:00",
])
def test_timestamps_outside_the_range_are_refused(make_payload, issued_at):
    with pytest.raises(InvalidLicenseFile, match="outside the times a site accepts"):
        parse_payload(payload_bytes(make_payload, issued_at=issued_at))


@pytest.mark.parametrize("issued_at", [
    "1970-01-01T00:00:00Z", "1970-01-01T01:00:00+01:00", "9998-12-31T23:59:59Z",
    "9998-12-31T22:59:59.999999-01:00",
])
def test_timestamps_at_the_ends_of_the_range_convert_to_any_zone(make_payload, issued_at):
    issued = parse_payload(payload_bytes(make_payload, issued_at=issued_at)).issued_at
    assert EARLIEST_TIMESTAMP <= issued <= LATEST_TIMESTAMP
    for zone in ("UTC", "Europe/London", "Pacific/Kiritimati", "Etc/GMT+12"):
        issued.astimezone(ZoneInfo(zone))  # no OverflowError


@pytest.mark.parametrize("field, value", [
    ("valid_from", "1969-12-31"), ("valid_until", "9999-12-31"), ("valid_from", "0001-01-01"),
])
def test_dates_outside_the_range_are_refused(make_payload, field, value):
    entry = product("editor", valid_from=date(2026, 1, 1), valid_until=date(2027, 1, 1))
    entry[field] = value
    with pytest.raises(InvalidLicenseFile, match="outside the dates a site accepts"):
        parse_payload(payload_bytes(make_payload, products=[entry]))


def test_dates_at_the_ends_of_the_range_are_accepted(make_payload):
    entry = product("editor", valid_from=date(1970, 1, 1), valid_until=date(9998, 12, 31))
    parsed = parse_payload(payload_bytes(make_payload, products=[entry])).products[0]
    assert (parsed.valid_from, parsed.valid_until) == (date(1970, 1, 1), date(9998, 12, 31))


@pytest.mark.parametrize("field", ["license_id", "company_id", "instance_id", "license_version"])
def test_strings_longer_than_the_model_allows_are_refused(make_payload, field):
    with pytest.raises(InvalidLicenseFile, match=f"'{field}' is 256 characters long; a site "
                                                 "stores at most 255"):
        parse_payload(payload_bytes(make_payload, **{field: LONG}))
    exact = parse_payload(payload_bytes(make_payload, **{field: LONG[:-1]}))
    assert getattr(exact, field) == LONG[:-1]


def test_product_name_longer_than_the_model_allows_is_refused(make_payload):
    entry = product("editor", name="n" * (MAX_NAME_LENGTH + 1))
    with pytest.raises(InvalidLicenseFile, match="1 to 200 characters"):
        parse_payload(payload_bytes(make_payload, products=[entry]))


def test_seats_past_the_database_integer_are_refused(make_payload):
    with pytest.raises(InvalidLicenseFile, match="has 2147483648 seats; a site stores at most "
                                                 "2147483647"):
        parse_payload(payload_bytes(make_payload, products=[product("editor", seats=2**31)]))
    parsed = parse_payload(payload_bytes(make_payload,
                                         products=[product("editor", seats=MAX_SEATS)]))
    assert parsed.products[0].seats == MAX_SEATS


@pytest.mark.parametrize("overrides", [
    {"license_id": "LIC\x00-1"},
    {"products": [product("editor", name="CMS\x00editor")]},
    {"vendor_note": {"deep": ["ok", "not\x00ok"]}},  # unknown keys are stored too (payload)
    {"vendor\x00key": 1},
])
def test_a_nul_character_anywhere_in_the_payload_is_refused(make_payload, overrides):
    with pytest.raises(InvalidLicenseFile, match="NUL character"):
        parse_payload(payload_bytes(make_payload, **overrides))


def test_nan_and_infinity_are_refused(make_payload):
    text = payload_bytes(make_payload).decode().replace('"format": 1', '"format": 1, "x": NaN')
    with pytest.raises(InvalidLicenseFile, match="not readable"):
        parse_payload(text.encode())


def test_a_key_id_longer_than_the_model_allows_is_refused(make_payload):
    vendor = Vendor(kid="k" * (MAX_ID_LENGTH + 1))
    with pytest.raises(InvalidLicenseFile, match="'kid' is 256 characters long"):
        license_file.read_license_file(vendor.sign(make_payload()),
                                       {vendor.kid: vendor.private_key.public_key()})


def test_the_reason_is_translated(make_payload, settings):
    from django.utils import translation

    from wagtail_licensing.license_file import _

    calls = []
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        original = translation.gettext

        def spy(message):
            calls.append(message)
            return original(message)

        translation.gettext = spy
        try:
            assert _("Ask your vendor for a new license file.")
        finally:
            translation.gettext = original
    assert calls == ["Ask your vendor for a new license file."]


# Through the admin ------------------------------------------------------------------------

HOSTILE = {
    "far-future issued_at": ({"issued_at": FAR_FUTURE}, "outside the times a site accepts"),
    "seats of 2^31": ({"products": [product("editor", seats=2**31)]}, "a site stores at most"),
    "license_id of 256": ({"license_id": LONG}, "'license_id' is 256 characters long"),
    "license_version of 256": ({"license_version": LONG}, "is 256 characters long"),
    "valid_until 9999-12-31": ({"products": [product("editor", valid_until=date(9999, 12, 31))]},
                               "outside the dates a site accepts"),
}


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


@pytest.mark.parametrize("name", list(HOSTILE))
def test_the_upload_form_refuses_and_installs_nothing(manager_client, vendor, make_payload,
                                                      name):
    overrides, reason = HOSTILE[name]
    before = snapshot()
    text = vendor.sign(make_payload(**overrides))
    response = manager_client.post(UPLOAD, {"license_file": SimpleUploadedFile(
        "acme.lic", text.encode(), content_type="application/octet-stream")})
    assert response.status_code == 200
    assert any(reason in error for error in response.context["form"].errors["license_file"])
    assert not PendingUpload.objects.exists()
    assert snapshot() == before


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_waiting_upload_is_refused_by_the_preview_and_confirm(manager_client, manager, vendor,
                                                                make_payload, installed, name):
    # A file that was waiting when the site upgraded: the preview and confirm read it again.
    overrides, reason = HOSTILE[name]
    pending = PendingUpload.store(kind=PendingUpload.Kind.LICENSE_FILE, user=manager,
                                  filename="acme.lic",
                                  content=vendor.sign(make_payload(**overrides)).encode())
    url = reverse("wagtail_licensing:upload_preview", args=[pending.token])
    before = snapshot()
    response = manager_client.get(url)
    assert response.status_code == 200
    assert reason in html.unescape(response.content.decode())
    assert not response.context["can_confirm"]
    response = manager_client.post(url, {"token": pending.token, "action": "confirm"})
    assert response.status_code == 200
    assert any(reason in str(e) for e in response.context["form"].non_field_errors())
    assert snapshot() == before
    # And the screens a bad file used to break still answer.
    assert manager_client.get(reverse("wagtail_licensing:license_manager")).status_code == 200
    assert manager_client.get(reverse("wagtail_licensing:history")).status_code == 200


# Through the command ----------------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize("name", list(HOSTILE))
@pytest.mark.parametrize("dry_run", [True, False])
def test_the_upload_command_refuses_and_installs_nothing(tmp_path, vendor, make_payload, name,
                                                         dry_run, state):
    overrides, reason = HOSTILE[name]
    path = tmp_path / "acme.lic"
    path.write_text(vendor.sign(make_payload(**overrides)))
    before = snapshot()
    with pytest.raises(CommandError, match=reason.replace("^", r"\^")):
        call_command("licensing", "upload", str(path), *(["--dry-run"] if dry_run else []),
                     stdout=StringIO(), stderr=StringIO())
    assert snapshot() == before


def test_the_far_future_file_from_the_issue(tmp_path, vendor, make_payload, state):
    path = tmp_path / "far.lic"
    path.write_text(vendor.sign(make_payload(issued_at=FAR_FUTURE)))
    with pytest.raises(CommandError, match=r"'issued_at' \(9999-12-31T23:59:59-01:00\) is outside"):
        call_command("licensing", "upload", str(path), stdout=StringIO(), stderr=StringIO())
    assert LicensingState.get().demo_mode
    assert not LicenseFile.objects.exists()


# Through the vendor's tool: it refuses to sign what sites refuse --------------------------

@pytest.fixture
def vendor_key(tmp_path):
    vendor_main(["keygen", "--kid", "k1", "--out", str(tmp_path / "keys")])
    return tmp_path / "keys" / "k1.key"


def sign(key, out, *extra, kid="k1", product_spec="editor:named:3:2099-12-31"):
    return vendor_main(["sign", "--key", str(key), "--kid", kid, "--company-id", "ACME",
                        "--any-instance", "--product", product_spec, *extra, "-o", str(out)])


@pytest.mark.parametrize("extra, kwargs, message", [
    ([], {"product_spec": "cms-editor:named:3000000000:2027-12-31"},
     "has 3000000000 seats; a site stores at most 2147483647"),
    (["--license-id", LONG], {}, "'license_id' is 256 characters long"),
    (["--license-version", LONG], {}, "'license_version' is 256 characters long"),
    (["--company-id", LONG], {}, "'company_id' is 256 characters long"),
    ([], {"kid": "k" * 256}, "'kid' is 256 characters long"),
    ([], {"product_spec": "editor:named:3:9999-12-31"}, "outside the dates a site accepts"),
    (["--valid-from", "1969-12-31"], {}, "outside the dates a site accepts"),
    ([], {"product_spec": "editor:named:3:2099-12-31:" + "n" * 201}, "1 to 200 characters"),
])
def test_the_vendor_tool_refuses_to_sign_what_sites_refuse(vendor_key, tmp_path, capsys, extra,
                                                          kwargs, message):
    out = tmp_path / "refused.lic"
    assert sign(vendor_key, out, *extra, **kwargs) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_the_vendor_tool_makes_no_key_sites_cannot_name(tmp_path, capsys):
    assert vendor_main(["keygen", "--kid", "k" * 256, "--out", str(tmp_path)]) == 2
    assert "'kid' is 256 characters long" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_the_vendor_tool_signs_the_largest_values_sites_accept(vendor_key, tmp_path, db,
                                                               settings):
    settings.WAGTAIL_LICENSING = {
        "COMPANY_ID": "ACME",
        "VENDOR_PUBLIC_KEYS": {"k1": (tmp_path / "keys" / "k1.pem").read_text()}}
    out = tmp_path / "largest.lic"
    assert sign(vendor_key, out, "--license-id", LONG[:-1], "--license-version", LONG[:-1],
                product_spec=f"editor:named:{MAX_SEATS}:9998-12-31:{'n' * 200}") == 0
    from wagtail_licensing import operations

    installed = operations.install_license_file(out.read_text()).license_file
    editor = installed.products.get()
    assert (len(installed.license_id), editor.seats, editor.valid_until) == (
        255, MAX_SEATS, date(9998, 12, 31))
    assert isinstance(installed.issued_at, datetime)
