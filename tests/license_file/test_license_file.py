"""The license file format, version 1 (docs/license-file-format.md)."""

import base64
import json
import shutil
import subprocess
from datetime import date

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.support.licenses import Vendor
from wagtail_licensing.exceptions import InvalidLicenseFile
from wagtail_licensing.license_file import (
    BEGIN_MARKER,
    END_MARKER,
    SIGNATURE_CONTEXT,
    encode_license_file,
    read_license_file,
)


@pytest.fixture
def keys(vendor):
    return {vendor.kid: vendor.private_key.public_key()}


def envelope_of(text):
    body = text[text.index(BEGIN_MARKER) + len(BEGIN_MARKER):text.index(END_MARKER)]
    return json.loads(base64.b64decode("".join(body.split())))


def armour(envelope):
    body = base64.b64encode(json.dumps(envelope).encode()).decode()
    return f"{BEGIN_MARKER}\n{body}\n{END_MARKER}\n"


def test_valid_file_parses(make_license, keys):
    signed = read_license_file(make_license(license_id="LIC-A", license_version="2.1"), keys)
    payload = signed.payload
    assert payload.license_id == "LIC-A"
    assert payload.company_id == "ACME"
    assert payload.license_version == "2.1"
    assert payload.instance_id is None
    assert payload.issued_at.tzinfo is not None
    assert [p.code for p in payload.products] == ["editor", "analytics", "occasional", "portal"]
    analytics = payload.product("analytics")
    assert analytics.unlimited and analytics.seats is None
    assert payload.product("editor").seats == 5
    assert isinstance(payload.product("editor").valid_until, date)


def test_text_outside_markers_and_white_space_inside_are_ignored(vendor, make_payload, keys):
    text = vendor.sign(make_payload(license_id="LIC-H"), header="Dear customer,\nhere it is.")
    begin, end = text.index(BEGIN_MARKER), text.index(END_MARKER)
    body = text[begin + len(BEGIN_MARKER):end]
    spaced = "  \t".join(body[i:i + 10] for i in range(0, len(body), 10))
    mangled = ("Anything before\r\n" + BEGIN_MARKER + "\r\n" + spaced + "\r\n" + END_MARKER
               + "\r\nSignature block ends here. Regards, the vendor\n")
    assert read_license_file(mangled, keys).payload.license_id == "LIC-H"
    assert read_license_file(mangled.encode(), keys).payload.license_id == "LIC-H"


def test_file_over_one_mebibyte_is_refused(make_license, keys):
    text = make_license() + "x" * (1024 * 1024)
    with pytest.raises(InvalidLicenseFile, match="larger than 1 MiB"):
        read_license_file(text, keys)


@pytest.mark.parametrize("text, message", [
    ("", "not a license file"),
    ("hello world", "not a license file"),
    (f"{BEGIN_MARKER}\nnot base64 !!!\n{END_MARKER}", "not valid base64"),
    (f"{BEGIN_MARKER}\n{base64.b64encode(b'not json').decode()}\n{END_MARKER}", "damaged"),
    (f"{BEGIN_MARKER}\n{base64.b64encode(b'[1, 2]').decode()}\n{END_MARKER}", "damaged"),
    (f"{END_MARKER}\nabc\n{BEGIN_MARKER}", "not a license file"),
])
def test_malformed_files_are_refused_with_a_reason(text, message, keys):
    with pytest.raises(InvalidLicenseFile, match=message):
        read_license_file(text, keys)


def test_binary_garbage_is_refused(keys):
    with pytest.raises(InvalidLicenseFile, match="not a license file"):
        read_license_file(bytes(range(256)) * 10, keys)


def test_unknown_key_id_is_refused(make_payload):
    other = Vendor(kid="other-vendor")
    text = other.sign(make_payload())
    with pytest.raises(InvalidLicenseFile, match="'other-vendor', which this site does not know"):
        read_license_file(text, {"test": Vendor().private_key.public_key()})


def test_foreign_key_with_known_kid_is_refused(vendor, make_payload, keys):
    impostor = Vendor(kid=vendor.kid)
    with pytest.raises(InvalidLicenseFile, match="signature does not match"):
        read_license_file(impostor.sign(make_payload()), keys)


def test_wrong_algorithm_is_refused(make_license, keys):
    envelope = envelope_of(make_license())
    envelope["alg"] = "rsa"
    with pytest.raises(InvalidLicenseFile, match="only 'ed25519'"):
        read_license_file(armour(envelope), keys)


def test_every_single_byte_change_of_payload_is_refused(make_license, keys):
    envelope = envelope_of(make_license())
    payload = bytearray(base64.b64decode(envelope["payload"]))
    for index in range(len(payload)):
        tampered = bytearray(payload)
        tampered[index] ^= 0x01
        envelope["payload"] = base64.b64encode(bytes(tampered)).decode()
        with pytest.raises(InvalidLicenseFile, match="signature does not match"):
            read_license_file(armour(envelope), keys)


def test_every_single_byte_change_of_signature_is_refused(make_license, keys):
    envelope = envelope_of(make_license())
    sig = bytearray(base64.b64decode(envelope["sig"]))
    assert len(sig) == 64
    for index in range(len(sig)):
        tampered = bytearray(sig)
        tampered[index] ^= 0x80
        envelope["sig"] = base64.b64encode(bytes(tampered)).decode()
        with pytest.raises(InvalidLicenseFile, match="signature"):
            read_license_file(armour(envelope), keys)


def test_truncated_signature_is_refused(make_license, keys):
    envelope = envelope_of(make_license())
    envelope["sig"] = base64.b64encode(base64.b64decode(envelope["sig"])[:63]).decode()
    with pytest.raises(InvalidLicenseFile, match="signature is damaged"):
        read_license_file(armour(envelope), keys)


def test_newer_format_needs_a_newer_wagtail_licensing(vendor, make_payload, keys):
    with pytest.raises(InvalidLicenseFile, match="needs a newer wagtail-licensing"):
        read_license_file(vendor.sign(make_payload(format=2)), keys)


def test_unknown_keys_are_ignored(vendor, make_payload, keys):
    payload = make_payload(future_field={"x": 1})
    payload["products"][0]["colour"] = "blue"
    assert read_license_file(vendor.sign(payload), keys).payload.product("editor").seats == 5


def _with_product(make_payload, **fields):
    payload = make_payload()
    payload["products"][0].update(fields)
    return payload


BAD_PAYLOADS = [
    ("format missing", lambda mp: {**mp(), "format": None}, "'format' must be a number"),
    ("format zero", lambda mp: {**mp(), "format": 0}, "format 0 does not exist"),
    ("license_id empty", lambda mp: {**mp(), "license_id": " "}, "'license_id'"),
    ("license_id number", lambda mp: {**mp(), "license_id": 5}, "'license_id'"),
    ("company_id missing", lambda mp: {k: v for k, v in mp().items() if k != "company_id"},
     "'company_id'"),
    ("instance_id number", lambda mp: {**mp(), "instance_id": 3}, "'instance_id'"),
    ("license_version list", lambda mp: {**mp(), "license_version": []}, "'license_version'"),
    ("issued_at date only", lambda mp: {**mp(), "issued_at": "2026-01-01"}, "RFC 3339"),
    ("issued_at naive", lambda mp: {**mp(), "issued_at": "2026-01-01T10:00:00"}, "RFC 3339"),
    ("issued_at junk", lambda mp: {**mp(), "issued_at": "yesterday"}, "RFC 3339"),
    ("no products", lambda mp: {**mp(), "products": []}, "grants no products"),
    ("products not list", lambda mp: {**mp(), "products": {"a": 1}}, "grants no products"),
    ("product not object", lambda mp: {**mp(), "products": ["editor"]}, "is not an object"),
    ("bad code", lambda mp: _with_product(mp, code="Editor!"), "lower-case"),
    ("long code", lambda mp: _with_product(mp, code="a" * 65), "lower-case"),
    ("duplicate code", lambda mp: {**mp(), "products": mp()["products"][:1] * 2}, "twice"),
    ("empty name", lambda mp: _with_product(mp, name=""), "name of 1 to 200"),
    ("long name", lambda mp: _with_product(mp, name="n" * 201), "name of 1 to 200"),
    ("bad type", lambda mp: _with_product(mp, type="floating"), "must be one of"),
    ("negative seats", lambda mp: _with_product(mp, seats=-1), "whole number"),
    ("float seats", lambda mp: _with_product(mp, seats=1.5), "whole number"),
    ("bool seats", lambda mp: _with_product(mp, seats=True), "whole number"),
    ("string seats", lambda mp: _with_product(mp, seats="5"), "whole number"),
    ("bad date", lambda mp: _with_product(mp, valid_until="2026-02-30"), "not a real date"),
    ("date format", lambda mp: _with_product(mp, valid_from="20260101"), "YYYY-MM-DD"),
    ("dates reversed", lambda mp: _with_product(mp, valid_from="2027-01-02",
                                                valid_until="2027-01-01"), "ends before"),
]


@pytest.mark.parametrize("name, build, message", BAD_PAYLOADS, ids=[b[0] for b in BAD_PAYLOADS])
def test_invalid_payloads_are_refused_with_a_reason(name, build, message, vendor, make_payload,
                                                    keys):
    with pytest.raises(InvalidLicenseFile, match=message):
        read_license_file(vendor.sign(build(make_payload)), keys)


def test_seats_missing_is_refused(vendor, make_payload, keys):
    payload = make_payload()
    del payload["products"][0]["seats"]
    with pytest.raises(InvalidLicenseFile, match="has no 'seats'"):
        read_license_file(vendor.sign(payload), keys)


def test_payload_that_is_not_json_is_refused(vendor, keys):
    payload = b"this is not json"
    sig = vendor.private_key.sign(SIGNATURE_CONTEXT + payload)
    with pytest.raises(InvalidLicenseFile, match="payload is not readable"):
        read_license_file(encode_license_file(payload, sig, vendor.kid), keys)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_file_signed_with_openssl_over_a_hand_written_payload_verifies(tmp_path):
    """Interoperability: the format can be produced with standard tools only."""
    key_path = tmp_path / "vendor.key"
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(key_path)],
                   check=True, capture_output=True)
    payload = (b'{"format": 1, "license_id": "OPENSSL-1", "company_id": "ACME",\n'
               b' "instance_id": null, "license_version": "1.0",\n'
               b' "issued_at": "2026-01-15T09:30:00Z",\n'
               b' "products": [{"code": "editor", "name": "Editor", "type": "named",\n'
               b'   "seats": 3, "valid_from": "2026-01-01", "valid_until": "2099-12-31"}]}\n')
    message_path = tmp_path / "message"
    message_path.write_bytes(SIGNATURE_CONTEXT + payload)
    sig_path = tmp_path / "sig"
    subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", str(key_path),
                    "-in", str(message_path), "-out", str(sig_path)],
                   check=True, capture_output=True)
    pem = subprocess.run(["openssl", "pkey", "-in", str(key_path), "-pubout"], check=True,
                         capture_output=True).stdout
    public_key = serialization.load_pem_public_key(pem)
    text = encode_license_file(payload, sig_path.read_bytes(), "openssl-kid")

    signed = read_license_file(text, {"openssl-kid": public_key})
    assert signed.payload.license_id == "OPENSSL-1"
    assert signed.payload.products[0].seats == 3

    for index in range(len(payload)):
        tampered = bytearray(payload)
        tampered[index] ^= 0x01
        with pytest.raises(InvalidLicenseFile):
            read_license_file(encode_license_file(bytes(tampered), sig_path.read_bytes(),
                                                  "openssl-kid"), {"openssl-kid": public_key})


def test_private_key_from_another_library_round_trips():
    key = Ed25519PrivateKey.generate()
    payload = b'{"format":1}'
    text = encode_license_file(payload, key.sign(SIGNATURE_CONTEXT + payload), "k")
    with pytest.raises(InvalidLicenseFile, match="grants no products"):
        read_license_file(text, {"k": key.public_key()})


def test_an_envelope_nested_too_deeply_is_refused(keys):
    """100,000 "[" in the armoured block: Python's JSON parser gives up (RecursionError)."""
    body = base64.b64encode(b"[" * 100_000).decode()
    with pytest.raises(InvalidLicenseFile, match="damaged"):
        read_license_file(f"{BEGIN_MARKER}\n{body}\n{END_MARKER}\n", keys)


def test_a_signed_payload_nested_too_deeply_is_refused(vendor, keys):
    """Even a payload the vendor's key signed (a vendor tool gone wrong) gets a reason."""
    payload = b'{"format": 1, "products": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    signature = vendor.private_key.sign(SIGNATURE_CONTEXT + payload)
    with pytest.raises(InvalidLicenseFile, match="damaged"):
        read_license_file(encode_license_file(payload, signature, vendor.kid), keys)
