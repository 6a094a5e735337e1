"""Fuzzing license files: whatever the bytes, only the project's own refusal (a message for
the manager) comes out, and no file whose signed content was changed is ever accepted."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from wagtail_licensing.exceptions import LicensingError
from wagtail_licensing.license_file import read_license_file
from wagtail_licensing.models import LicenseFile

pytestmark = [pytest.mark.django_db, pytest.mark.slow]  # make test and the PostgreSQL run


UPLOAD = "/admin/licensing/upload/"


def keys(vendor):
    return {vendor.kid: vendor.private_key.public_key()}


@given(data=st.binary(max_size=4096))
def test_random_bytes_are_refused_with_a_reason(vendor, data):
    with pytest.raises(LicensingError) as refused:
        read_license_file(data, keys(vendor))
    assert str(refused.value)


@st.composite
def mutations(draw, original: bytes):
    """``original`` with a few bytes flipped, inserted or deleted."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(data) - 1))
        kind = draw(st.sampled_from(["flip", "insert", "delete", "set"]))
        if kind == "flip":
            data[position] ^= 1 << draw(st.integers(0, 7))
        elif kind == "insert":
            data.insert(position, draw(st.integers(0, 255)))
        elif kind == "delete" and len(data) > 1:
            del data[position]
        else:
            data[position] = draw(st.sampled_from(b"AZaz09+/=\n{}[]\":,"))
    return bytes(data)


@given(st.data())
def test_a_changed_file_is_refused_or_says_exactly_what_was_signed(vendor, make_license, data):
    original = make_license().encode()
    genuine = read_license_file(original, keys(vendor))
    changed = data.draw(mutations(original))
    assume(changed != original)
    try:
        accepted = read_license_file(changed, keys(vendor))
    except LicensingError as refused:
        assert str(refused)
        return
    # Only a change outside what is signed (the header, line breaks in the base64) may be
    # accepted, and then the file says exactly what the vendor signed.
    assert accepted.payload_bytes == genuine.payload_bytes
    assert accepted.payload == genuine.payload


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.text(max_size=12), children, max_size=4),
    max_leaves=20)

DATES = st.one_of(st.dates().map(str), st.text(max_size=12), st.integers(), st.none())
# The edges of what Python's datetime holds, with offsets that push them past it in UTC or in
# the site's time zone.
EDGE_TIMESTAMPS = st.tuples(
    st.sampled_from(["0001-01-01T00:00:00", "0001-01-01T12:00:00", "9999-12-31T23:59:59",
                     "9999-12-31T12:00:00"]),
    st.sampled_from(["Z", "+14:00", "-01:00", "+00:30", "-12:00"]),
).map("".join)
TIMESTAMPS = st.one_of(
    EDGE_TIMESTAMPS,
    st.datetimes(timezones=st.timezones()).map(lambda moment: moment.isoformat()),
    st.sampled_from(["2026-13-01T00:00:00Z", "2026-01-01T00:00:00", "2026-01-01"]),
    JSON)
SEATS = st.one_of(st.none(), st.integers(-2, 2**63), st.floats(), st.booleans(),
                  st.text(max_size=3))
PRODUCTS = st.lists(st.fixed_dictionaries({
    "code": st.one_of(st.sampled_from(["editor", "analytics", "portal"]), st.text(max_size=70)),
    "name": st.one_of(st.text(max_size=210), JSON),
    "type": st.one_of(st.sampled_from(["named", "concurrent", "portal"]), JSON),
    "seats": SEATS,
    "valid_from": DATES,
    "valid_until": DATES,
}), max_size=4)


HOSTILE_FIELDS = {
    "format": st.one_of(st.integers(-1, 3), JSON),
    "license_id": st.one_of(st.text(max_size=300), JSON),
    "company_id": st.one_of(st.text(max_size=300), JSON),
    "instance_id": st.one_of(st.text(max_size=300), JSON),
    "license_version": st.one_of(st.text(max_size=300), JSON),
    "issued_at": TIMESTAMPS,
    "products": st.one_of(PRODUCTS, JSON),
}
PRODUCT_FIELDS = {"code": st.text(max_size=70), "name": st.one_of(st.text(max_size=210), JSON),
                  "type": JSON, "seats": SEATS, "valid_from": DATES, "valid_until": DATES}


@st.composite
def signed_payloads(draw, make_payload):
    """A valid payload with one to three fields (of the file or of a product) made hostile:
    mostly-valid files reach the checks after the first."""
    payload = make_payload()
    for _ in range(draw(st.integers(1, 3))):
        if draw(st.booleans()):
            field = draw(st.sampled_from(sorted(HOSTILE_FIELDS)))
            payload[field] = draw(HOSTILE_FIELDS[field])
        elif isinstance(payload["products"], list) and payload["products"] and isinstance(
                payload["products"][0], dict):
            field = draw(st.sampled_from(sorted(PRODUCT_FIELDS)))
            payload["products"][0][field] = draw(PRODUCT_FIELDS[field])
    return payload


@settings(max_examples=int(settings().max_examples * 2))
@given(st.data())
def test_a_signed_file_of_any_content_is_previewed_or_refused_never_crashes(
        vendor, manager, client, make_payload, data):
    """A genuine signature over anything (the vendor tool is not the only way to make one),
    uploaded in the admin: a preview or a refusal on the form, never a server error."""
    payload = data.draw(signed_payloads(make_payload))
    client.force_login(manager)
    content = vendor.sign(payload).encode()
    response = client.post(UPLOAD, {"license_file": SimpleUploadedFile("x.lic", content)})
    if response.status_code == 302:  # accepted for a preview: which must render
        assert client.get(response["Location"]).status_code == 200
    else:
        assert response.status_code == 200
        assert "error-message" in response.content.decode() or "errorlist" in \
            response.content.decode()
    assert not LicenseFile.objects.exists()  # neither installs anything
