"""The deployment's Ed25519 key, which signs ledger checkpoints.

``LEDGER_SIGNING_KEY`` holds the private key (urlsafe base64 of its 32 raw bytes, or a PEM). Unset,
the key is read from ``LEDGER_SIGNING_KEY_FILE``; development and tests create that file on first
use (``LEDGER_SIGNING_KEY_GENERATE``), production refuses to sign without a configured key rather
than sign with one nobody keeps. Checkpoints name the key by ``key_id`` (the first 16 bytes of the
SHA-256 of its raw public key, in hex), so a rotated deployment still verifies the old ones through
``LEDGER_TRUSTED_PUBLIC_KEYS``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from functools import cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from audit.hashing import canonical_json

_RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw


def _b64decode(value: str) -> bytes:
    value = value.strip()
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def _parse_private(text: str) -> Ed25519PrivateKey:
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(text.encode(), password=None)
        else:
            key = Ed25519PrivateKey.from_private_bytes(_b64decode(text))
    except (ValueError, TypeError, binascii.Error) as exc:
        raise ImproperlyConfigured(f"LEDGER_SIGNING_KEY is not an Ed25519 private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured("LEDGER_SIGNING_KEY is not an Ed25519 key")
    return key


def generate_key_text() -> str:
    raw = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _from_file(path) -> Ed25519PrivateKey:
    try:
        return _parse_private(path.read_text())
    except FileNotFoundError:
        if not settings.LEDGER_SIGNING_KEY_GENERATE:
            raise ImproperlyConfigured(
                "No ledger signing key: set LEDGER_SIGNING_KEY (python -m audit.archive.signing "
                f"prints a new one) or provide {path}"
            ) from None
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: two processes creating the key at once end up with one key, the first one written.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _parse_private(path.read_text())
    with os.fdopen(fd, "w") as handle:
        handle.write(generate_key_text() + "\n")
    return _parse_private(path.read_text())


@cache
def _private_key(configured: str, path: str) -> Ed25519PrivateKey:
    from pathlib import Path

    return _parse_private(configured) if configured else _from_file(Path(path))


def private_key() -> Ed25519PrivateKey:
    return _private_key(settings.LEDGER_SIGNING_KEY, str(settings.LEDGER_SIGNING_KEY_FILE))


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(*_RAW)


def key_id_of(public: Ed25519PublicKey) -> str:
    return hashlib.sha256(raw_public(public)).hexdigest()[:32]


def public_key() -> Ed25519PublicKey:
    return private_key().public_key()


def b64_of(key: Ed25519PublicKey) -> str:
    return base64.urlsafe_b64encode(raw_public(key)).decode().rstrip("=")


def public_key_b64() -> str:
    return b64_of(public_key())


def current_key_id() -> str:
    return key_id_of(public_key())


def trusted_keys() -> dict[str, Ed25519PublicKey]:
    """Keys whose signatures verify: the deployment's own and the earlier ones it names."""
    keys = {}
    for text in settings.LEDGER_TRUSTED_PUBLIC_KEYS:
        try:
            key = Ed25519PublicKey.from_public_bytes(_b64decode(text))
        except (ValueError, binascii.Error) as exc:
            raise ImproperlyConfigured(f"LEDGER_TRUSTED_PUBLIC_KEYS: {text!r} is not a public key") from exc
        keys[key_id_of(key)] = key
    own = public_key()
    keys[key_id_of(own)] = own
    return keys


def message(payload: dict) -> bytes:
    return canonical_json(payload).encode()


def sign(payload: dict) -> str:
    return base64.b64encode(private_key().sign(message(payload))).decode()


def verify(payload: dict, signature: str, *, keys: dict[str, Ed25519PublicKey] | None = None) -> str | None:
    """What is wrong with ``signature`` over ``payload`` (None when it verifies)."""
    keys = trusted_keys() if keys is None else keys
    key = keys.get(payload.get("key_id", ""))
    if key is None:
        return f"signed with an unknown key {payload.get('key_id')!r}"
    try:
        key.verify(base64.b64decode(signature), message(payload))
    except (InvalidSignature, ValueError, binascii.Error):
        return "the signature does not match the checkpoint"
    return None


if __name__ == "__main__":
    print(generate_key_text())
