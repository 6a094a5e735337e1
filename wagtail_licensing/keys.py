"""The vendor public keys configured in ``VENDOR_PUBLIC_KEYS``, loaded once per configuration."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from .conf import licensing_settings


class PublicKeyError(Exception):
    pass


def _pem_bytes(value: str | bytes | Path) -> bytes:
    text = value.decode() if isinstance(value, bytes) else str(value)
    if "-----BEGIN" in text:
        return text.encode()
    path = Path(text).expanduser()
    try:
        return path.read_bytes()
    except OSError as exc:
        raise PublicKeyError(f"cannot read the public key file {path}: {exc.strerror}") from exc


def load_key(value: str | bytes | Path) -> Ed25519PublicKey:
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


def load_all() -> tuple[dict[str, Ed25519PublicKey], dict[str, str]]:
    """Return ``({kid: key}, {kid: error})`` for every configured key."""
    loaded: dict[str, Ed25519PublicKey] = {}
    errors: dict[str, str] = {}
    for kid, value in (licensing_settings.VENDOR_PUBLIC_KEYS or {}).items():
        try:
            loaded[kid] = load_key(value)
        except PublicKeyError as exc:
            errors[kid] = str(exc)
    return loaded, errors


def _configured() -> tuple[tuple[str, str | bytes | Path], ...]:
    return tuple(sorted((licensing_settings.VENDOR_PUBLIC_KEYS or {}).items()))


@lru_cache(maxsize=4)
def _keys_for(configured: tuple[tuple[str, str | bytes | Path], ...]
              ) -> dict[str, Ed25519PublicKey]:
    return load_all()[0]


def public_keys() -> dict[str, Ed25519PublicKey]:
    """The usable keys, loaded once for each value of ``VENDOR_PUBLIC_KEYS``.

    Keyed by the setting itself, so a changed setting is picked up without ``conf`` having to
    tell this module (``conf`` sits below it: no import cycle).
    """
    return _keys_for(_configured())


def clear_cache() -> None:
    """Forget loaded keys (e.g. a key file was replaced on disk under the same path)."""
    _keys_for.cache_clear()
