"""The signature of every outbound webhook the platform sends (pages, automation calls, status-page
updates): ``v1=<hex HMAC-SHA256 of "<timestamp>." + body>``, so a receiver checks them all one way
(docs/webhooks.md)."""

import hashlib
import hmac

SIGNATURE_VERSION = "v1"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={mac}"
