"""Realistic payloads of each integration kind: the console's copyable ``curl`` examples and the body
of "Send a test event" are built from the same documents, so what the page shows is what was tested.

A webhook integration's document is derived from its own mapping (each pointer filled in), so the
example posts a body that this very integration can parse.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field

from django.conf import settings
from django.urls import reverse

from incidents.ingest.formats import webhook
from incidents.models import Integration, IntegrationKind

KEY_VARIABLE = "OPS_INTEGRATION_KEY"
SECRET_VARIABLE = "OPS_GRAFANA_SECRET"
TEST_TITLE_PREFIX = "[Test]"
EXAMPLE_ID = "opsplatform-example"

BEARER_ENDPOINTS = {
    IntegrationKind.ALERTMANAGER: "ingest:alertmanager_bearer",
    IntegrationKind.GRAFANA: "ingest:grafana_bearer",
    IntegrationKind.WEBHOOK: "ingest:webhook_bearer",
    IntegrationKind.HEARTBEAT: "ingest:heartbeat_bearer",
}


def _alert(fingerprint: str, title: str) -> dict:
    return {
        "status": "firing",
        "labels": {
            "alertname": "OpsPlatformExample",
            "instance": "example-host:9100",
            "job": "node",
            "severity": "warning",
        },
        "annotations": {
            "summary": title,
            "description": "Sent from the OpsPlatform integration console to check the connection.",
        },
        "startsAt": "2026-01-01T00:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.example.com/graph?g0.expr=up",
        "fingerprint": fingerprint,
    }


def _alertmanager(dedup_key: str, title: str) -> dict:
    return {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="OpsPlatformExample", id="{dedup_key}"}}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "opsplatform",
        "groupLabels": {"alertname": "OpsPlatformExample"},
        "commonLabels": {"alertname": "OpsPlatformExample", "severity": "warning"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example.com:9093",
        "alerts": [_alert(dedup_key, title)],
    }


def _grafana(dedup_key: str, title: str) -> dict:
    body = _alertmanager(dedup_key, title)
    body.update(
        {
            "version": "1",
            "orgId": 1,
            "title": f"[FIRING:1] {title}",
            "state": "alerting",
            "message": f"**Firing**\n\n{title}",
        }
    )
    body["alerts"][0].update(
        {"values": {"A": 1}, "valueString": "[ var='A' value=1 ]", "dashboardURL": "", "panelURL": ""}
    )
    return body


def _pagerduty(dedup_key: str, title: str, key: str) -> dict:
    return {
        "routing_key": key,
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "payload": {
            "summary": title,
            "source": "example-host",
            "severity": "warning",
            "component": "console",
            "group": "opsplatform",
            "class": "connectivity check",
        },
        "client": "OpsPlatform console",
    }


def _set(document: dict, pointer: str, value) -> None:
    """Put ``value`` at a JSON pointer, making objects on the way; a pointer already holding a value
    (two fields reading the same place) keeps the first."""
    tokens = [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]
    node = document
    for token in tokens[:-1]:
        child = node.setdefault(token, {})
        if not isinstance(child, dict):
            return
        node = child
    node.setdefault(tokens[-1], value)


def _fill(document: dict, spec, value) -> None:
    if not isinstance(spec, str):
        return
    if spec.startswith("/"):
        _set(document, spec, value)
        return
    for index, match in enumerate(webhook._TEMPLATE.finditer(spec)):
        _set(document, match.group(1), value if index == 0 else "example")


def _webhook(mapping: dict, dedup_key: str, title: str) -> dict | list:
    mapping = mapping or webhook.DEFAULT_MAPPING
    severity_map = mapping.get("severity_map") or {}
    resolved = {v.lower() for v in mapping.get("resolved_values", webhook.DEFAULT_RESOLVED)}
    acknowledged = {v.lower() for v in mapping.get("acknowledged_values", webhook.DEFAULT_ACKNOWLEDGED)}
    status = next(s for s in ("firing", "alerting", "problem", "open") if s not in resolved | acknowledged)
    values = {
        "title": title,
        "dedup_key": dedup_key,
        "group_key": "opsplatform-example",
        "severity": next(iter(severity_map), "warning"),
        "status": status,
        "description": "Sent from the OpsPlatform integration console to check the connection.",
        "source": "example-host",
    }
    item: dict = {}
    for name, value in values.items():
        _fill(item, mapping.get(name), value)
    labels = mapping.get("labels")
    if isinstance(labels, str):
        _fill(item, labels, {"env": "example"})
    elif isinstance(labels, dict):
        for spec in labels.values():
            _fill(item, spec, "example")
    if mapping.get("items"):
        document: dict = {}
        _set(document, mapping["items"], [item])
        return document
    return item


def sample_document(
    integration: Integration, *, dedup_key: str, title: str, key: str = ""
) -> dict | list | None:
    """The document a sender of this kind would post (None for a heartbeat: a ping has no body)."""
    kind = integration.kind
    if kind == IntegrationKind.ALERTMANAGER:
        return _alertmanager(dedup_key, title)
    if kind == IntegrationKind.GRAFANA:
        return _grafana(dedup_key, title)
    if kind == IntegrationKind.PAGERDUTY:
        return _pagerduty(dedup_key, title, key)
    if kind == IntegrationKind.WEBHOOK:
        return _webhook(integration.webhook_mapping, dedup_key, title)
    return None


@dataclass
class Example:
    """A request that works against this deployment, and the same request as a shell snippet."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    curl: str = ""


def endpoint(kind: str) -> str:
    """The URL a sender posts to with the key in an ``Authorization: Bearer`` header (PagerDuty: in
    the body)."""
    if kind == IntegrationKind.PAGERDUTY:
        return f"{settings.SITE_URL}{reverse('pagerduty-enqueue')}"
    return f"{settings.SITE_URL}{reverse(BEARER_ENDPOINTS[kind])}"


def example(integration: Integration, *, key: str = "") -> Example:
    """The copyable example. ``key``: the key in clear, only in the answer that reveals it once;
    otherwise the snippet reads it from ``$OPS_INTEGRATION_KEY``."""
    kind = integration.kind
    url = endpoint(kind)
    title = "Example alert from the OpsPlatform console"
    variable = f"${KEY_VARIABLE}"
    document = sample_document(integration, dedup_key=EXAMPLE_ID, title=title, key=variable)
    body = json.dumps(document, indent=2, ensure_ascii=False) if document is not None else ""
    headers = {} if kind == IntegrationKind.PAGERDUTY else {"Authorization": f"Bearer {variable}"}
    if body:
        headers["Content-Type"] = "application/json"
    lines = [
        f"{KEY_VARIABLE}={shlex.quote(key)}"
        if key
        else f"# Needs {KEY_VARIABLE}: the key shown when it was created or rotated."
    ]
    signed = kind == IntegrationKind.GRAFANA and integration.has_hmac_secret
    if signed:
        lines.append(f"# {SECRET_VARIABLE}: the HMAC secret set on this integration")
    args = [f"curl -sS -X POST {shlex.quote(url)}"]
    for name, value in headers.items():
        # Double quotes where the key variable must expand.
        args.append(f'-H "{name}: {value}"' if "$" in value else f"-H {shlex.quote(f'{name}: {value}')}")
    if signed:
        lines += _signature_lines(integration, body)
        args.append(f'-H "{integration.hmac_header}: $SIGNATURE"')
        if integration.hmac_timestamp_header:
            args.append(f'-H "{integration.hmac_timestamp_header}: $TIMESTAMP"')
        args.append('--data-binary "$BODY"')
    elif body:
        args.append("--data-binary @-")
    command = " \\\n  ".join(args)
    if body and not signed:
        # PagerDuty's key is in the body: an unquoted here-document lets $OPS_INTEGRATION_KEY expand
        # (the sample holds no other $, backquote or backslash the shell would read).
        delimiter = "EOF" if kind == IntegrationKind.PAGERDUTY else "'EOF'"
        command += f" <<{delimiter}\n{body}\nEOF"
    lines.append(command)
    return Example(method="POST", url=url, headers=headers, body=body, curl="\n".join(lines))


def _signature_lines(integration: Integration, body: str) -> list[str]:
    timestamp = bool(integration.hmac_timestamp_header)
    signed_text = '"$TIMESTAMP:$BODY"' if timestamp else '"$BODY"'
    lines = [f"BODY=$(cat <<'EOF'\n{body}\nEOF\n)"]
    if timestamp:
        lines.append("TIMESTAMP=$(date +%s)")
    lines.append(
        f"SIGNATURE=$(printf '%s' {signed_text} | openssl dgst -sha256 -hmac \"${SECRET_VARIABLE}\""
        " | sed 's/^.* //')"
    )
    return lines
