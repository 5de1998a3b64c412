"""The deployment's VAPID identity (RFC 8292): one P-256 key pair, the private half in settings.

Push services tie a subscription to the public key the browser subscribed with, so the key must
stay the same for the life of the subscriptions: rotating it means every browser subscribes again.
"""

import base64
import time
from functools import lru_cache
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from django.conf import settings
from py_vapid import Vapid02

# A token a push service accepts for at most 24 hours (RFC 8292 §2); ours live for 12.
TOKEN_LIFETIME_SECONDS = 12 * 3600


def enabled() -> bool:
    return bool(settings.WEB_PUSH_VAPID_PRIVATE_KEY)


@lru_cache(maxsize=2)
def _vapid(private_key: str) -> Vapid02:
    return Vapid02.from_string(private_key)


def public_key() -> str:
    """The application server key browsers subscribe with (uncompressed point, urlsafe base64)."""
    raw = _vapid(settings.WEB_PUSH_VAPID_PRIVATE_KEY).public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def authorization(endpoint: str) -> str:
    """The ``Authorization: vapid t=…, k=…`` value for a request to ``endpoint``'s push service."""
    parts = urlsplit(endpoint)
    claims = {
        "aud": f"{parts.scheme}://{parts.netloc}",
        "exp": int(time.time()) + TOKEN_LIFETIME_SECONDS,
        "sub": settings.WEB_PUSH_SUBJECT,
    }
    return _vapid(settings.WEB_PUSH_VAPID_PRIVATE_KEY).sign(claims)["Authorization"]
