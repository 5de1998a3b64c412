"""A notice update to a webhook subscriber: one signed JSON POST through the guarded HTTP client.

The signature scheme is the platform's for every outbound webhook (docs/webhooks.md), so receivers
verify all of them alike::

    X-OpsPlatform-Timestamp: <unix seconds>
    X-OpsPlatform-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>
    X-OpsPlatform-Delivery:  <delivery key: the same on every retry of one update to one endpoint>

(``notifications`` holds the incident webhooks' copy of ``sign``; it is a sibling layer this app may
not import, and the scheme is three lines.) The body is documented in docs/monitoring.md.
"""

from __future__ import annotations

import json
import re
import time
from typing import NamedTuple

import httpx
from django.conf import settings
from django.urls import reverse

from monitoring.statuspages.models import StatusDelivery
from monitoring.statuspages.services.webhooks import webhook_secret
from opsplatform.core import http
from opsplatform.core.webhook_signature import sign

EVENT_TYPE = "status_page.notice_update"
# 408/409/425/429 and 5xx say "later"; any other 4xx says the request itself is refused.
RETRYABLE_STATUS = {408, 409, 425, 429}
# Errors are shown on pages and stored: never a URL (a webhook URL may be its receiver's credential).
_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://\S+")


class Outcome(NamedTuple):
    ok: bool
    status_code: int | None
    result: str  # "HTTP 200", or why it failed
    retryable: bool


def clean_error(text: str, limit: int = 300) -> str:
    return _URL.sub("[url]", " ".join(str(text).split()))[:limit]


def _iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def payload(delivery: StatusDelivery) -> dict:
    """The body: the page, the notice, this update and the components' states it left behind."""
    update = delivery.update
    notice = update.notice
    page = notice.page
    page_url = settings.SITE_URL.rstrip("/") + reverse("statuspages:public", args=[page.slug])
    return {
        "type": EVENT_TYPE,
        "delivery_id": delivery.idempotency_key,
        "attempt": delivery.attempts,
        "page": {"id": page.slug, "name": page.title, "url": page_url},
        "notice": {
            "id": notice.pk,
            "kind": notice.kind,
            "title": notice.title,
            "status": notice.status,
            "impact": notice.impact,
            "url": f"{page_url}#notice-{notice.pk}",
            "scheduled_for": _iso(notice.scheduled_for),
            "scheduled_until": _iso(notice.scheduled_until),
            "created_at": _iso(notice.created_at),
            "resolved_at": _iso(notice.resolved_at),
            "components": [{"id": c.pk, "name": c.name} for c in notice.components.all()],
        },
        "update": {
            "id": update.pk,
            "status": update.status,
            "body": update.body,
            "created_at": _iso(update.created_at),
            "automatic": update.transition or None,
        },
        "components": update.component_states,
    }


def request_parts(delivery: StatusDelivery) -> tuple[bytes, dict]:
    """The raw body and headers of this attempt (signed now: the timestamp is the attempt's)."""
    content = json.dumps(payload(delivery), separators=(",", ":")).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "X-OpsPlatform-Timestamp": str(timestamp),
        "X-OpsPlatform-Delivery": delivery.idempotency_key,
        "X-OpsPlatform-Attempt": str(delivery.attempts),
        "Idempotency-Key": delivery.idempotency_key,
    }
    secret = webhook_secret(delivery.subscriber)
    if secret:
        headers["X-OpsPlatform-Signature"] = sign(secret, timestamp, content)
    return content, headers


def _transport_error(exc: Exception) -> Outcome:
    if isinstance(exc, http.OutboundRefused):  # policy: retrying cannot help
        return Outcome(False, None, clean_error(exc), False)
    if isinstance(exc, httpx.TimeoutException):
        return Outcome(False, None, clean_error(f"timed out ({type(exc).__name__})"), True)
    if isinstance(exc, httpx.HTTPError):
        return Outcome(False, None, clean_error(f"{type(exc).__name__}: {exc}"), True)
    return Outcome(False, None, clean_error(exc), False)  # a URL the client refuses outright


def _answer(response: httpx.Response) -> Outcome:
    code = response.status_code
    if 200 <= code < 300:
        return Outcome(True, code, f"HTTP {code}", False)
    body = clean_error(response.text, 200) if response.content else ""
    retryable = code >= 500 or code in RETRYABLE_STATUS
    return Outcome(False, code, f"HTTP {code}{': ' + body if body else ''}", retryable)


def post(delivery: StatusDelivery) -> Outcome:
    """Make the request; never raises for what the network, the receiver or the stored row does."""
    try:
        content, headers = request_parts(delivery)
    except Exception as exc:  # e.g. a secret that no longer decrypts: every retry would fail alike
        return Outcome(False, None, clean_error(f"cannot prepare the request: {type(exc).__name__}"), False)
    try:
        response = http.request("POST", delivery.subscriber.url, content=content, headers=headers)
    except (httpx.HTTPError, ValueError) as exc:
        return _transport_error(exc)
    return _answer(response)
