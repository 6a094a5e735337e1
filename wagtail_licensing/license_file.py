"""Parse, verify and write license files, format version 1 (see docs/license-file-format.md).

No Django imports: the vendor's tool uses this module on machines without a Django project.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NoReturn

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .exceptions import InvalidLicenseFile

BEGIN_MARKER = "-----BEGIN WAGTAIL LICENSE FILE-----"
END_MARKER = "-----END WAGTAIL LICENSE FILE-----"
SIGNATURE_CONTEXT = b"wagtail-licensing/license-file/v1\n"
FORMAT_VERSION = 1
MAX_FILE_SIZE = 1024 * 1024
PRODUCT_TYPES = ("named", "concurrent", "portal")
CODE_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_BASE64_RE = re.compile(r"[A-Za-z0-9+/]*={0,2}")

WHAT_TO_DO = "Ask your vendor for a new license file."


@dataclass(frozen=True)
class Product:
    code: str
    name: str
    type: str
    seats: int | None  # None: unlimited
    valid_from: date
    valid_until: date

    @property
    def unlimited(self) -> bool:
        return self.seats is None


@dataclass(frozen=True)
class LicensePayload:
    license_id: str
    company_id: str
    instance_id: str | None
    license_version: str | None
    issued_at: datetime
    products: tuple[Product, ...]
    data: dict[str, Any] = field(repr=False, compare=False)

    def product(self, code: str) -> Product | None:
        return next((p for p in self.products if p.code == code), None)


@dataclass(frozen=True)
class SignedLicense:
    kid: str
    payload: LicensePayload
    payload_bytes: bytes
    signature: bytes


def _fail(message: str) -> NoReturn:
    raise InvalidLicenseFile(message)


def _b64decode(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        _fail(f"The license file is malformed: '{what}' must be a base64 string. {WHAT_TO_DO}")
    compact = "".join(value.split())
    if not _BASE64_RE.fullmatch(compact):
        _fail(f"The license file is malformed: '{what}' is not valid base64. {WHAT_TO_DO}")
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        _fail(f"The license file is malformed: '{what}' is not valid base64. {WHAT_TO_DO}")


def read_envelope(data: str | bytes) -> dict[str, Any]:
    """Return the envelope dict from the file's bytes or text."""
    if isinstance(data, str):
        data = data.encode("utf-8", errors="replace")
    if len(data) > MAX_FILE_SIZE:
        _fail("The file is larger than 1 MiB, so it is not a license file. Check that you chose "
              "the .lic file your vendor sent.")
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        # Only the armoured block has to be ASCII; a header may be anything readable.
        text = data.decode("utf-8", errors="replace")
    start = text.find(BEGIN_MARKER)
    end = text.find(END_MARKER, start + 1) if start >= 0 else -1
    if start < 0 or end < 0:
        _fail("This is not a license file: the '-----BEGIN WAGTAIL LICENSE FILE-----' and "
              "'-----END WAGTAIL LICENSE FILE-----' lines were not found. Check that you chose "
              "the .lic file your vendor sent.")
    body = text[start + len(BEGIN_MARKER):end]
    raw = _b64decode(body, "license block")
    try:
        envelope = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: nested too deeply
        _fail(f"The license file is damaged: its content is not readable. {WHAT_TO_DO}")
    if not isinstance(envelope, dict):
        _fail(f"The license file is damaged: its content is not readable. {WHAT_TO_DO}")
    return envelope


def read_license_file(data: str | bytes,
                      public_keys: Mapping[str, Ed25519PublicKey]) -> SignedLicense:
    """Parse and verify a license file.

    ``public_keys`` maps key ids to Ed25519 public keys. Raises ``InvalidLicenseFile`` with a
    message for the user on any problem; returns a ``SignedLicense``.
    """
    envelope = read_envelope(data)
    if envelope.get("alg") != "ed25519":
        _fail(f"The license file uses the signature algorithm {envelope.get('alg')!r}; only "
              f"'ed25519' is supported. {WHAT_TO_DO}")
    kid = envelope.get("kid")
    if not isinstance(kid, str) or not kid:
        _fail(f"The license file does not name the key it was signed with. {WHAT_TO_DO}")
    payload_bytes = _b64decode(envelope.get("payload"), "payload")
    signature = _b64decode(envelope.get("sig"), "sig")
    key = public_keys.get(kid)
    if key is None:
        _fail(f"The license file was signed with the key {kid!r}, which this site does not know. "
              "It may come from another vendor. Ask your vendor for a file signed with their "
              "current key, or ask your administrator to add the vendor's public key "
              "(WAGTAIL_LICENSING['VENDOR_PUBLIC_KEYS']).")
    if len(signature) != 64:
        _fail(f"The license file's signature is damaged. {WHAT_TO_DO}")
    try:
        key.verify(signature, SIGNATURE_CONTEXT + payload_bytes)
    except InvalidSignature:
        _fail("The license file's signature does not match its content: the file was changed "
              f"after the vendor signed it, or it is damaged. {WHAT_TO_DO}")
    payload = parse_payload(payload_bytes)
    return SignedLicense(kid=kid, payload=payload, payload_bytes=payload_bytes,
                         signature=signature)


def _parse_date(value: object, where: str) -> date:
    if not isinstance(value, str) or not DATE_RE.fullmatch(value):
        _fail(f"The license file is invalid: {where} must be a date written as YYYY-MM-DD. "
              f"{WHAT_TO_DO}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        _fail(f"The license file is invalid: {where} ({value}) is not a real date. {WHAT_TO_DO}")


def _parse_timestamp(value: object) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None and "T" in value.upper():
            return parsed
    _fail("The license file is invalid: 'issued_at' must be an RFC 3339 timestamp with a time "
          f"zone. {WHAT_TO_DO}")


def _optional_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        _fail(f"The license file is invalid: '{key}' must be a string or null. {WHAT_TO_DO}")
    return value


def _required_str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        _fail(f"The license file is invalid: '{key}' must be a non-empty string. {WHAT_TO_DO}")
    return value


def _parse_product(item: object, index: int, seen: Mapping[str, Product]) -> Product:
    where = f"product {index + 1}"
    if not isinstance(item, dict):
        _fail(f"The license file is invalid: {where} is not an object. {WHAT_TO_DO}")
    code = item.get("code")
    if not isinstance(code, str) or not CODE_RE.fullmatch(code):
        _fail(f"The license file is invalid: {where} has the code {code!r}; a code is 1 to 64 "
              f"lower-case letters, digits, '.', '_' or '-'. {WHAT_TO_DO}")
    where = f"product '{code}'"
    if code in seen:
        _fail(f"The license file is invalid: the product code '{code}' appears twice. "
              f"{WHAT_TO_DO}")
    name = item.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= 200:
        _fail(f"The license file is invalid: {where} needs a name of 1 to 200 characters. "
              f"{WHAT_TO_DO}")
    ptype = item.get("type")
    if ptype not in PRODUCT_TYPES:
        _fail(f"The license file is invalid: {where} has the type {ptype!r}; it must be one of "
              f"{', '.join(PRODUCT_TYPES)}. {WHAT_TO_DO}")
    if "seats" not in item:
        _fail(f"The license file is invalid: {where} has no 'seats'. {WHAT_TO_DO}")
    seats = item["seats"]
    if seats is not None and (type(seats) is not int or seats < 0):
        _fail(f"The license file is invalid: {where} has {seats!r} seats; seats must be a whole "
              f"number from 0 up, or null for unlimited. {WHAT_TO_DO}")
    valid_from = _parse_date(item.get("valid_from"), f"'valid_from' of {where}")
    valid_until = _parse_date(item.get("valid_until"), f"'valid_until' of {where}")
    if valid_from > valid_until:
        _fail(f"The license file is invalid: {where} is valid from {valid_from} until "
              f"{valid_until}, which ends before it starts. {WHAT_TO_DO}")
    return Product(code=code, name=name, type=ptype, seats=seats, valid_from=valid_from,
                   valid_until=valid_until)


def parse_payload(payload_bytes: bytes) -> LicensePayload:
    try:
        data = json.loads(payload_bytes.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        _fail(f"The license file is damaged: its payload is not readable. {WHAT_TO_DO}")
    if not isinstance(data, dict):
        _fail(f"The license file is invalid: its payload is not an object. {WHAT_TO_DO}")
    fmt = data.get("format")
    if type(fmt) is not int:
        _fail(f"The license file is invalid: 'format' must be a number. {WHAT_TO_DO}")
    if fmt > FORMAT_VERSION:
        _fail(f"This license file needs a newer wagtail-licensing (it is format {fmt}; this "
              f"version reads format {FORMAT_VERSION}). Upgrade wagtail-licensing, then upload "
              "the file again.")
    if fmt < 1:
        _fail(f"The license file is invalid: format {fmt} does not exist. {WHAT_TO_DO}")
    products = data.get("products")
    if not isinstance(products, list) or not products:
        _fail(f"The license file is invalid: it grants no products. {WHAT_TO_DO}")
    seen: dict[str, Product] = {}
    for index, item in enumerate(products):
        product = _parse_product(item, index, seen)
        seen[product.code] = product
    return LicensePayload(
        license_id=_required_str(data, "license_id"),
        company_id=_required_str(data, "company_id"),
        instance_id=_optional_str(data, "instance_id"),
        license_version=_optional_str(data, "license_version"),
        issued_at=_parse_timestamp(data.get("issued_at")),
        products=tuple(seen.values()),
        data=data,
    )


def signing_input(payload_bytes: bytes) -> bytes:
    return SIGNATURE_CONTEXT + payload_bytes


def encode_license_file(payload_bytes: bytes, signature: bytes, kid: str,
                        header: str = "") -> str:
    """Arm a signed payload as license file text."""
    envelope = {
        "alg": "ed25519",
        "kid": kid,
        "payload": base64.b64encode(payload_bytes).decode("ascii"),
        "sig": base64.b64encode(signature).decode("ascii"),
    }
    body = base64.b64encode(json.dumps(envelope, separators=(",", ":")).encode()).decode("ascii")
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    head = header.rstrip("\n") + "\n\n" if header else ""
    return head + "\n".join([BEGIN_MARKER, *lines, END_MARKER]) + "\n"


def sign_payload(payload: Mapping[str, Any], private_key: Ed25519PrivateKey, kid: str,
                 header: str = "") -> str:
    """Serialise ``payload`` (a dict), sign it and return the license file text."""
    payload_bytes = json.dumps(payload, indent=2, sort_keys=True).encode("utf-8")
    signature = private_key.sign(signing_input(payload_bytes))
    return encode_license_file(payload_bytes, signature, kid, header=header)
