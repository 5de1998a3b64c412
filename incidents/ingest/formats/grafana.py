"""Grafana alerting webhook: the Alertmanager shape plus ``orgId``, ``title``, ``state``, ``message``
and per-alert ``values``, ``valueString``, ``dashboardURL``, ``panelURL``, ``silenceURL``, ``imageURL``.

Signature: with an HMAC secret configured on the contact point, Grafana sends the hex HMAC-SHA256 in
``X-Grafana-Alerting-Signature`` (the header name is configurable there). When a timestamp header is
configured too, Grafana puts a Unix timestamp in it and signs ``timestamp + ":" + body`` instead of
the body alone; the timestamp must then be recent, so a captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from incidents.ingest.alert_event import AlertEvent
from incidents.ingest.formats.alertmanager import alert_event, check_group
from incidents.ingest.formats.common import Checker, link


class SignatureError(Exception):
    """The request is not signed with the integration's secret (or too old): a 401, nothing written."""


def parse(data, *, integration=None) -> list[AlertEvent]:
    check = Checker()
    # Grafana sends version "1"; its version numbers say nothing about the shape we read.
    alerts = check_group(check, data, versions=None)
    check.integer(data, "orgId", "orgId")
    for key in ("title", "state", "message"):
        check.string(data, key, key)
    for index, alert in enumerate(alerts):
        if not isinstance(alert, dict):
            continue
        path = f"alerts.{index}"
        values = check.obj(alert, "values", f"{path}.values")
        if values is not None:
            bad = [k for k, v in values.items() if v is not None and not isinstance(v, int | float)]
            if bad:
                check.error(f"{path}.values.{bad[0]}", "Expected a number or null.", "type")
        for key in ("valueString", "dashboardURL", "panelURL", "silenceURL", "imageURL"):
            check.string(alert, key, f"{path}.{key}")
    check.raise_if_any()
    events = []
    for alert in alerts:
        event = alert_event(
            alert,
            group=data,
            source_default="grafana",
            extra_links=(
                link(alert.get("dashboardURL"), "Dashboard"),
                link(alert.get("panelURL"), "Panel"),
                link(alert.get("silenceURL"), "Silence"),
                link(alert.get("imageURL"), "Image"),
            ),
        )
        if not event.description and alert.get("valueString"):
            event.description = alert["valueString"][:2000]
        events.append(event)
    return events


def expected_signature(secret: str, body: bytes, timestamp: str | None) -> str:
    message = f"{timestamp}:".encode() + body if timestamp is not None else body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify_signature(
    *,
    secret: str,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    max_age_seconds: int,
    now: float | None = None,
) -> None:
    """Raise SignatureError unless ``signature`` is Grafana's for this body (and recent timestamp)."""
    if not signature:
        raise SignatureError("The request is not signed.")
    if timestamp is not None:
        try:
            sent = int(timestamp.strip())
        except ValueError as exc:
            raise SignatureError("The signature timestamp is not a Unix time.") from exc
        now = time.time() if now is None else now
        if abs(now - sent) > max_age_seconds:
            raise SignatureError("The signature timestamp is too old or in the future.")
    expected = expected_signature(secret, body, timestamp.strip() if timestamp is not None else None)
    # Grafana sends bare lowercase hex; tolerate a "sha256=" prefix some proxies add.
    given = signature.strip().lower().removeprefix("sha256=")
    if not hmac.compare_digest(expected, given):
        raise SignatureError("The signature does not match.")
