"""Secrets at rest (channel credentials, HMAC secrets): AES-256-GCM from `cryptography`.

The key is ``ENCRYPTION_KEY`` (32 bytes, urlsafe base64) when set, else derived from SECRET_KEY
with HKDF, so a deployment works out of the box and can move to a dedicated key later. Values are
stored as ``v1.<base64 nonce+ciphertext>``; the version prefix leaves room for key rotation.
"""

import base64
import os
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_PREFIX = "v1."


class DecryptionError(ValueError):
    pass


@lru_cache(maxsize=4)
def _key(secret_key: str, explicit: str) -> bytes:
    if explicit:
        key = base64.urlsafe_b64decode(explicit + "=" * (-len(explicit) % 4))
        if len(key) != 32:
            raise ValueError("ENCRYPTION_KEY must be 32 bytes of urlsafe base64")
        return key
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"opsplatform secrets v1").derive(
        secret_key.encode()
    )


def _aead() -> AESGCM:
    return AESGCM(_key(settings.SECRET_KEY, getattr(settings, "ENCRYPTION_KEY", "")))


def encrypt(plaintext: str, *, context: str = "") -> str:
    """``context`` (e.g. "channel:12") is authenticated: a value copied to another row won't decrypt."""
    nonce = os.urandom(12)
    sealed = _aead().encrypt(nonce, plaintext.encode(), context.encode())
    return _PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()


def decrypt(token: str, *, context: str = "") -> str:
    if not token.startswith(_PREFIX):
        raise DecryptionError("unknown secret format")
    raw = base64.urlsafe_b64decode(token[len(_PREFIX) :])
    try:
        return _aead().decrypt(raw[:12], raw[12:], context.encode()).decode()
    except Exception as exc:  # InvalidTag and friends: never echo the value
        raise DecryptionError("secret cannot be decrypted with this key") from exc
