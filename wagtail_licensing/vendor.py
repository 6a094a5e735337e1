"""``wagtail-licensing-vendor``: the vendor's tool to make keys, sign and inspect license files.

Runs without a Django project: it needs only this package and ``cryptography``.
"""


from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, cast

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from . import license_file
from .exceptions import InvalidLicenseFile


class VendorError(Exception):
    pass


def check_kid(kid: str) -> str:
    """``kid``, if sites can store it (``license_file.check_kid``, the sites' own rule)."""
    try:
        return license_file.check_kid(kid)
    except InvalidLicenseFile as exc:
        raise VendorError(f"--kid: {exc}") from exc


def keygen(kid: str, out_dir: str | os.PathLike[str]) -> tuple[Path, Path]:
    check_kid(kid)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    private_path, public_path = out / f"{kid}.key", out / f"{kid}.pem"
    if private_path.exists():
        raise VendorError(f"{private_path} exists already; refusing to overwrite a private key.")
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(private_pem)
    os.chmod(private_path, 0o600)
    public_path.write_bytes(public_pem(key.public_key()))
    return private_path, public_path


def public_pem(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.PEM,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)


def load_private_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except OSError as exc:
        raise VendorError(f"cannot read the private key {path}: {exc.strerror}") from exc
    except (ValueError, TypeError) as exc:
        raise VendorError(f"{path} is not an unencrypted PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise VendorError(f"{path} is not an Ed25519 private key")
    return key


def load_public_key(path: str | os.PathLike[str]) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(Path(path).read_bytes())
    except OSError as exc:
        raise VendorError(f"cannot read the public key {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise VendorError(f"{path} is not a PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise VendorError(f"{path} is not an Ed25519 public key")
    return key


def parse_product(spec: str, default_valid_from: str) -> dict[str, Any]:
    """``CODE:TYPE:SEATS:VALID_UNTIL[:NAME]`` -> product dict."""
    parts = spec.split(":", 4)
    if len(parts) < 4:
        raise VendorError(f"--product {spec!r}: expected CODE:TYPE:SEATS:VALID_UNTIL[:NAME]")
    code, ptype, seats, valid_until = parts[:4]
    name = parts[4] if len(parts) == 5 and parts[4] else code
    if seats.lower() == "unlimited":
        seats_value = None
    else:
        try:
            seats_value = int(seats)
        except ValueError:
            raise VendorError(
                f"--product {spec!r}: SEATS must be a number or 'unlimited'") from None
    return {"code": code, "name": name, "type": ptype, "seats": seats_value,
            "valid_from": default_valid_from, "valid_until": valid_until}


def build_payload(args: argparse.Namespace, request: dict[str, Any]) -> dict[str, Any]:
    company_id = args.company_id or request.get("company_id")
    if not company_id:
        raise VendorError("no company ID: give --company-id or --request")
    if args.any_instance:
        instance_id = None
    else:
        instance_id = args.instance_id or request.get("instance_id")
        if not instance_id:
            raise VendorError("no instance ID: give --instance-id, --request or --any-instance")
    valid_from = args.valid_from or date.today().isoformat()
    payload = {
        "format": license_file.FORMAT_VERSION,
        "license_id": args.license_id or f"LIC-{uuid.uuid4().hex[:12].upper()}",
        "company_id": company_id,
        "instance_id": instance_id,
        "license_version": args.license_version or request.get("license_version"),
        "issued_at": datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "products": [parse_product(spec, valid_from) for spec in args.product],
    }
    # Check what we sign with the same parser the sites use: never ship an unreadable file.
    try:
        license_file.parse_payload(json.dumps(payload).encode())
    except InvalidLicenseFile as exc:
        raise VendorError(str(exc)) from exc
    return payload


def cmd_keygen(args: argparse.Namespace) -> None:
    private_path, public_path = keygen(args.kid, args.out)
    print(f"Private key (keep it secret): {private_path}")
    print(f"Public key (ship it to sites): {public_path}")


def cmd_sign(args: argparse.Namespace) -> None:
    request: dict[str, Any] = {}
    if args.request:
        try:
            request = json.loads(Path(args.request).read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise VendorError(f"cannot read the license request {args.request}: {exc}") from exc
        if request.get("type") != "wagtail-licensing/license-request":
            raise VendorError(f"{args.request} is not a wagtail-licensing license request")
    check_kid(args.kid)
    payload = build_payload(args, request)
    key = load_private_key(args.key)
    header = (f"wagtail-licensing license file {payload['license_id']}\n"
              f"Company: {payload['company_id']}\nIssued: {payload['issued_at']}")
    text = license_file.sign_payload(payload, key, args.kid, header=header)
    Path(args.output).write_text(text, "ascii")
    print(f"Wrote {args.output} ({payload['license_id']}, {len(payload['products'])} products)")


REQUEST_TYPE = "wagtail-licensing/license-request"


def read_request(data: bytes) -> dict[str, Any] | None:
    """The license request (``.tlr``) ``data`` holds, or None if it is not one."""
    try:
        request = json.loads(data)
    except ValueError:
        return None
    if isinstance(request, dict) and request.get("type") == REQUEST_TYPE:
        return request
    return None


def _cell(value: Any) -> str:
    return "unlimited" if value is None else str(value)


def usage_summary_lines(request: dict[str, Any]) -> list[str]:
    """The request's usage summary as a table: peaks over the last 90 days, per product."""
    summary = request.get("usage_summary")
    if not isinstance(summary, dict):
        return ["usage summary: none (the site's wagtail-licensing predates it)"]
    products = [p for p in summary.get("products") or [] if isinstance(p, dict)]
    lines = [f"usage summary, {summary.get('from')} to {summary.get('to')} "
             f"({summary.get('days')} days):"]
    if not products:
        lines.append("  no usage recorded")
        return lines
    rows = [("product", "seats", "peak seats used", "peak sessions", "days recorded")]
    rows += [(str(p.get("code")), _cell(p.get("seats")), str(p.get("peak_used")),
              str(p.get("peak_sessions")), str(p.get("days_recorded"))) for p in products]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        lines.append("  " + "  ".join(cell.ljust(width) for cell, width in
                                      zip(row, widths, strict=True)).rstrip())
    return lines


def inspect_request(request: dict[str, Any]) -> int:
    print(json.dumps(request, indent=2, sort_keys=True))
    print(f"license request of company {request.get('company_id')}, instance "
          f"{request.get('instance_id')}")
    for line in usage_summary_lines(request):
        print(line)
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    data = Path(args.file).read_bytes()
    request = read_request(data)
    if request is not None:
        return inspect_request(request)
    try:
        envelope = license_file.read_envelope(data)
    except InvalidLicenseFile as exc:
        raise VendorError(str(exc)) from exc
    kid = envelope.get("kid")
    payload_bytes = license_file._b64decode(envelope.get("payload"), "payload")
    try:
        print(json.dumps(json.loads(payload_bytes), indent=2, sort_keys=True))
    except ValueError:
        print(payload_bytes.decode("utf-8", errors="replace"))
    print(f"key id: {kid}")
    if not args.public_key:
        print("signature: not checked (give --public-key)")
        return 0
    try:
        license_file.read_license_file(data, {cast(str, kid): load_public_key(args.public_key)})
    except InvalidLicenseFile as exc:
        print(f"signature: INVALID - {exc}")
        return 1
    print("signature: valid")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wagtail-licensing-vendor",
        description="Make vendor keys, sign and inspect license files.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("keygen", help="create an Ed25519 key pair")
    p.add_argument("--kid", required=True, help="key id, named in every file signed with it")
    p.add_argument("--out", required=True, help="folder for KID.key (private) and KID.pem")
    p.set_defaults(func=cmd_keygen)

    p = sub.add_parser("sign", help="write a signed license file")
    p.add_argument("--key", required=True, help="the private key (PEM)")
    p.add_argument("--kid", required=True, help="the key id sites know the public key by")
    p.add_argument("--request", help="a .tlr license request to take values from")
    p.add_argument("--company-id")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--instance-id")
    group.add_argument("--any-instance", action="store_true",
                       help="the file installs on any site of the company")
    p.add_argument("--license-version")
    p.add_argument("--license-id", help="default: a new random ID")
    p.add_argument("--product", action="append", required=True,
                   metavar="CODE:TYPE:SEATS:VALID_UNTIL[:NAME]")
    p.add_argument("--valid-from", help="ISO date; default today")
    p.add_argument("-o", "--output", required=True)
    p.set_defaults(func=cmd_sign)

    p = sub.add_parser("inspect", help="print a license file's payload and check its "
                                       "signature, or a license request (.tlr) with its "
                                       "usage summary")
    p.add_argument("file")
    p.add_argument("--public-key")
    p.set_defaults(func=cmd_inspect)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except VendorError as exc:
        print(f"wagtail-licensing-vendor: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
