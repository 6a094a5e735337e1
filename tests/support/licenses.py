"""License files for tests: a vendor key pair, product entries and the default products."""

from datetime import timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.utils import timezone

from wagtail_licensing.license_file import sign_payload


class Vendor:
    """A vendor key pair for signing test license files."""

    def __init__(self, kid="test"):
        self.kid = kid
        self.private_key = Ed25519PrivateKey.generate()
        self.public_pem = self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()
        self.private_pem = self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()).decode()

    def sign(self, payload, header=""):
        return sign_payload(payload, self.private_key, self.kid, header=header)


def today():
    return timezone.localdate()


def product(code, ptype="named", seats=5, name=None, valid_from=None, valid_until=None):
    return {
        "code": code,
        "name": name or code.replace("-", " ").title(),
        "type": ptype,
        "seats": seats,
        "valid_from": (valid_from or today() - timedelta(days=1)).isoformat(),
        "valid_until": (valid_until or today() + timedelta(days=365)).isoformat(),
    }


DEFAULT_PRODUCTS = [
    product("editor", "named", 5, name="CMS editor"),
    product("analytics", "named", None, name="Analytics"),
    product("occasional", "concurrent", 2, name="Occasional editor"),
    product("portal", "portal", 3, name="Customer portal"),
]
