"""The vendor public keys configured in ``VENDOR_PUBLIC_KEYS``, loaded once."""

from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from .conf import licensing_settings


class PublicKeyError(Exception):
    pass


def _pem_bytes(value):
    text = value.decode() if isinstance(value, bytes) else str(value)
    if "-----BEGIN" in text:
        return text.encode()
    path = Path(text).expanduser()
    try:
        return path.read_bytes()
    except OSError as exc:
        raise PublicKeyError(f"cannot read the public key file {path}: {exc.strerror}") from exc


def load_key(value):
    """Turn one setting value (PEM text or path) into an Ed25519 public key."""
    try:
        key = load_pem_public_key(_pem_bytes(value))
    except PublicKeyError:
        raise
    except ValueError as exc:
        raise PublicKeyError("not a PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise PublicKeyError("not an Ed25519 public key")
    return key


def load_all():
    """Return ``({kid: key}, {kid: error})`` for every configured key."""
    loaded, errors = {}, {}
    for kid, value in (licensing_settings.VENDOR_PUBLIC_KEYS or {}).items():
        try:
            loaded[kid] = load_key(value)
        except PublicKeyError as exc:
            errors[kid] = str(exc)
    return loaded, errors


@lru_cache(maxsize=1)
def public_keys():
    return load_all()[0]


def clear_cache():
    public_keys.cache_clear()
