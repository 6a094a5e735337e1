"""Parse, verify and write license files, format version 1 (see docs/license-file-format.md).

No Django project needed: the vendor's tool uses this module on machines without one (its
messages are then in English). The limits below are the one home of what a site can store:
``models`` takes its field sizes from them, and the vendor's tool refuses to sign what
``parse_payload`` would refuse.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
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

#: The longest ``license_id``, ``company_id``, ``instance_id``, ``license_version`` and key id
#: (``kid``) a site stores (``LicenseFile``'s fields).
MAX_ID_LENGTH = 255
#: The longest product name a site stores (``LicensedProduct.name``).
MAX_NAME_LENGTH = 200
#: The most seats a product can have: ``LicensedProduct.seats`` is a 32-bit integer on every
#: database (``null`` is unlimited).
MAX_SEATS = 2**31 - 1
#: The dates a file may hold, and the days its timestamps may fall on in UTC. A year inside
#: Python's (and the databases') years 1 to 9999 on either side, so that a timestamp converted
#: to any time zone, and a date with a grace period added, stays representable.
EARLIEST_DATE = date(1970, 1, 1)
LATEST_DATE = date(9998, 12, 31)
EARLIEST_TIMESTAMP = datetime.combine(EARLIEST_DATE, time.min, UTC)
LATEST_TIMESTAMP = datetime.combine(LATEST_DATE, time.max, UTC)


def _(message: str) -> str:
    """``gettext`` on a site; the English text where no Django project is configured (the
    vendor's tool)."""
    try:
        from django.conf import settings
        from django.utils.translation import gettext

        return gettext(message) if settings.configured else message
    except Exception:  # noqa: BLE001 - apps not ready yet, say: the English text will do
        return message


def _what_to_do() -> str:
    return _("Ask your vendor for a new license file.")


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
        _fail(_("The license file is malformed: '%(what)s' must be a base64 string. "
                "%(what_to_do)s") % {"what": what, "what_to_do": _what_to_do()})
    compact = "".join(value.split())
    if not _BASE64_RE.fullmatch(compact):
        _not_base64(what)
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        _not_base64(what)


def _not_base64(what: str) -> NoReturn:
    _fail(_("The license file is malformed: '%(what)s' is not valid base64. %(what_to_do)s")
          % {"what": what, "what_to_do": _what_to_do()})


def read_envelope(data: str | bytes) -> dict[str, Any]:
    """Return the envelope dict from the file's bytes or text."""
    if isinstance(data, str):
        data = data.encode("utf-8", errors="replace")
    if len(data) > MAX_FILE_SIZE:
        _fail(_("The file is larger than 1 MiB, so it is not a license file. Check that you "
                "chose the .lic file your vendor sent."))
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        # Only the armoured block has to be ASCII; a header may be anything readable.
        text = data.decode("utf-8", errors="replace")
    start = text.find(BEGIN_MARKER)
    end = text.find(END_MARKER, start + 1) if start >= 0 else -1
    if start < 0 or end < 0:
        _fail(_("This is not a license file: the '%(begin)s' and '%(end)s' lines were not "
                "found. Check that you chose the .lic file your vendor sent.")
              % {"begin": BEGIN_MARKER, "end": END_MARKER})
    if "\x00" in text:  # kept as the file's text, which PostgreSQL cannot store with a NUL
        _fail(_("The license file holds a NUL character, so it is damaged. %(what_to_do)s")
              % {"what_to_do": _what_to_do()})
    body = text[start + len(BEGIN_MARKER):end]
    raw = _b64decode(body, _("license block"))
    try:
        envelope = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: nested too deeply
        _unreadable()
    if not isinstance(envelope, dict):
        _unreadable()
    return envelope


def _unreadable() -> NoReturn:
    _fail(_("The license file is damaged: its content is not readable. %(what_to_do)s")
          % {"what_to_do": _what_to_do()})


def read_license_file(data: str | bytes,
                      public_keys: Mapping[str, Ed25519PublicKey]) -> SignedLicense:
    """Parse and verify a license file.

    ``public_keys`` maps key ids to Ed25519 public keys. Raises ``InvalidLicenseFile`` with a
    message for the user on any problem; returns a ``SignedLicense``.
    """
    envelope = read_envelope(data)
    if envelope.get("alg") != "ed25519":
        _fail(_("The license file uses the signature algorithm %(alg)s; only 'ed25519' is "
                "supported. %(what_to_do)s")
              % {"alg": repr(envelope.get("alg")), "what_to_do": _what_to_do()})
    kid = check_kid(envelope.get("kid"))
    payload_bytes = _b64decode(envelope.get("payload"), "payload")
    signature = _b64decode(envelope.get("sig"), "sig")
    key = public_keys.get(kid)
    if key is None:
        _fail(_("The license file was signed with the key %(kid)s, which this site does not "
                "know. It may come from another vendor. Ask your vendor for a file signed with "
                "their current key, or ask your administrator to add the vendor's public key "
                "(%(setting)s).")
              % {"kid": repr(kid), "setting": "WAGTAIL_LICENSING['VENDOR_PUBLIC_KEYS']"})
    if len(signature) != 64:
        _fail(_("The license file's signature is damaged. %(what_to_do)s")
              % {"what_to_do": _what_to_do()})
    try:
        key.verify(signature, SIGNATURE_CONTEXT + payload_bytes)
    except InvalidSignature:
        _fail(_("The license file's signature does not match its content: the file was "
                "changed after the vendor signed it, or it is damaged. %(what_to_do)s")
              % {"what_to_do": _what_to_do()})
    payload = parse_payload(payload_bytes)
    return SignedLicense(kid=kid, payload=payload, payload_bytes=payload_bytes,
                         signature=signature)


def _parse_date(value: object, where: str) -> date:
    if not isinstance(value, str) or not DATE_RE.fullmatch(value):
        _fail(_("The license file is invalid: %(where)s must be a date written as "
                "YYYY-MM-DD. %(what_to_do)s") % {"where": where, "what_to_do": _what_to_do()})
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        _fail(_("The license file is invalid: %(where)s (%(value)s) is not a real date. "
                "%(what_to_do)s") % {"where": where, "value": value, "what_to_do": _what_to_do()})
    if not EARLIEST_DATE <= parsed <= LATEST_DATE:
        _fail(_("The license file is invalid: %(where)s (%(value)s) is outside the dates a site "
                "accepts, %(earliest)s to %(latest)s. %(what_to_do)s")
              % {"where": where, "value": value, "earliest": EARLIEST_DATE.isoformat(),
                 "latest": LATEST_DATE.isoformat(), "what_to_do": _what_to_do()})
    return parsed


def _parse_timestamp(value: object) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None and "T" in value.upper():
            try:
                in_utc = parsed.astimezone(UTC)
            except OverflowError:  # past year 9999 or before year 1 in UTC
                in_utc = None
            if in_utc is None or not EARLIEST_TIMESTAMP <= in_utc <= LATEST_TIMESTAMP:
                _fail(_("The license file is invalid: 'issued_at' (%(value)s) is outside the "
                        "times a site accepts, %(earliest)s to %(latest)s (UTC). "
                        "%(what_to_do)s")
                      % {"value": value,
                         "earliest": EARLIEST_TIMESTAMP.isoformat().replace("+00:00", "Z"),
                         "latest": LATEST_TIMESTAMP.replace(microsecond=0).isoformat()
                         .replace("+00:00", "Z"),
                         "what_to_do": _what_to_do()})
            return parsed
    _fail(_("The license file is invalid: 'issued_at' must be an RFC 3339 timestamp with a "
            "time zone. %(what_to_do)s") % {"what_to_do": _what_to_do()})


def check_length(value: str, key: str, limit: int = MAX_ID_LENGTH) -> str:
    """``value``, if a site can store it in the field ``key``; InvalidLicenseFile if not."""
    if len(value) > limit:
        _fail(_("The license file is invalid: '%(field)s' is %(length)d characters long; a site "
                "stores at most %(limit)d. %(what_to_do)s")
              % {"field": key, "length": len(value), "limit": limit,
                 "what_to_do": _what_to_do()})
    return value


def _optional_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        _fail(_("The license file is invalid: '%(field)s' must be a string or null. "
                "%(what_to_do)s") % {"field": key, "what_to_do": _what_to_do()})
    return None if value is None else check_length(value, key)


def _required_str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        _fail(_("The license file is invalid: '%(field)s' must be a non-empty string. "
                "%(what_to_do)s") % {"field": key, "what_to_do": _what_to_do()})
    return check_length(value, key)


def check_kid(kid: object) -> str:
    """The key id, if it is one a site can store; InvalidLicenseFile if not."""
    if not isinstance(kid, str) or not kid:
        _fail(_("The license file does not name the key it was signed with. %(what_to_do)s")
              % {"what_to_do": _what_to_do()})
    return check_length(kid, "kid")


def _check_storable(data: Any) -> None:
    """Refuse a NUL character in any string or key of the payload: PostgreSQL stores none (in
    text or in the ``jsonb`` the payload is kept in). Walked with a stack, not recursion."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                _fail(_("The license file is invalid: its payload holds a NUL character, which "
                        "a site cannot store. %(what_to_do)s") % {"what_to_do": _what_to_do()})
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _parse_product(item: object, index: int, seen: Mapping[str, Product]) -> Product:
    where = _("product %(number)d") % {"number": index + 1}
    if not isinstance(item, dict):
        _fail(_("The license file is invalid: %(where)s is not an object. %(what_to_do)s")
              % {"where": where, "what_to_do": _what_to_do()})
    code = item.get("code")
    if not isinstance(code, str) or not CODE_RE.fullmatch(code):
        _fail(_("The license file is invalid: %(where)s has the code %(code)s; a code is 1 to "
                "64 lower-case letters, digits, '.', '_' or '-'. %(what_to_do)s")
              % {"where": where, "code": repr(code), "what_to_do": _what_to_do()})
    where = _("product '%(code)s'") % {"code": code}
    if code in seen:
        _fail(_("The license file is invalid: the product code '%(code)s' appears twice. "
                "%(what_to_do)s") % {"code": code, "what_to_do": _what_to_do()})
    name = item.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME_LENGTH:
        _fail(_("The license file is invalid: %(where)s needs a name of 1 to %(limit)d "
                "characters. %(what_to_do)s")
              % {"where": where, "limit": MAX_NAME_LENGTH, "what_to_do": _what_to_do()})
    ptype = item.get("type")
    if ptype not in PRODUCT_TYPES:
        _fail(_("The license file is invalid: %(where)s has the type %(type)s; it must be one "
                "of %(types)s. %(what_to_do)s")
              % {"where": where, "type": repr(ptype), "types": ", ".join(PRODUCT_TYPES),
                 "what_to_do": _what_to_do()})
    if "seats" not in item:
        _fail(_("The license file is invalid: %(where)s has no 'seats'. %(what_to_do)s")
              % {"where": where, "what_to_do": _what_to_do()})
    seats = item["seats"]
    if seats is not None and (type(seats) is not int or seats < 0):
        _fail(_("The license file is invalid: %(where)s has %(seats)s seats; seats must be a "
                "whole number from 0 up, or null for unlimited. %(what_to_do)s")
              % {"where": where, "seats": repr(seats), "what_to_do": _what_to_do()})
    if seats is not None and seats > MAX_SEATS:
        _fail(_("The license file is invalid: %(where)s has %(seats)d seats; a site stores at "
                "most %(limit)d (give null for unlimited seats). %(what_to_do)s")
              % {"where": where, "seats": seats, "limit": MAX_SEATS,
                 "what_to_do": _what_to_do()})
    valid_from = _parse_date(item.get("valid_from"),
                             _("'%(field)s' of %(where)s") % {"field": "valid_from",
                                                              "where": where})
    valid_until = _parse_date(item.get("valid_until"),
                              _("'%(field)s' of %(where)s") % {"field": "valid_until",
                                                               "where": where})
    if valid_from > valid_until:
        _fail(_("The license file is invalid: %(where)s is valid from %(valid_from)s until "
                "%(valid_until)s, which ends before it starts. %(what_to_do)s")
              % {"where": where, "valid_from": valid_from, "valid_until": valid_until,
                 "what_to_do": _what_to_do()})
    return Product(code=code, name=name, type=ptype, seats=seats, valid_from=valid_from,
                   valid_until=valid_until)


def _not_json(constant: str) -> NoReturn:
    raise ValueError(f"{constant} is not JSON")


def parse_payload(payload_bytes: bytes) -> LicensePayload:
    try:
        # NaN and Infinity are not JSON, and PostgreSQL's jsonb refuses them.
        data = json.loads(payload_bytes.decode("utf-8"), parse_constant=_not_json)
    except (UnicodeDecodeError, ValueError, RecursionError):
        _fail(_("The license file is damaged: its payload is not readable. %(what_to_do)s")
              % {"what_to_do": _what_to_do()})
    if not isinstance(data, dict):
        _fail(_("The license file is invalid: its payload is not an object. %(what_to_do)s")
              % {"what_to_do": _what_to_do()})
    _check_storable(data)
    fmt = data.get("format")
    if type(fmt) is not int:
        _fail(_("The license file is invalid: 'format' must be a number. %(what_to_do)s")
              % {"what_to_do": _what_to_do()})
    if fmt > FORMAT_VERSION:
        _fail(_("This license file needs a newer wagtail-licensing (it is format %(format)d; "
                "this version reads format %(supported)d). Upgrade wagtail-licensing, then "
                "upload the file again.") % {"format": fmt, "supported": FORMAT_VERSION})
    if fmt < 1:
        _fail(_("The license file is invalid: format %(format)d does not exist. %(what_to_do)s")
              % {"format": fmt, "what_to_do": _what_to_do()})
    products = data.get("products")
    if not isinstance(products, list) or not products:
        _fail(_("The license file is invalid: it grants no products. %(what_to_do)s")
              % {"what_to_do": _what_to_do()})
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
