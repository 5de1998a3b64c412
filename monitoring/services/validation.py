"""Each kind's target and assertions, checked on write so stored data can never break a probe."""

from __future__ import annotations

import ipaddress
import re

from django.core.exceptions import ValidationError

from monitoring import heartbeat
from monitoring.models import MonitorKind
from monitoring.probes.base import split_host_port
from monitoring.probes.dns import RECORD_TYPES
from opsplatform.core import http

ALLOWED_KEYS = {
    MonitorKind.HTTP: {
        "method",
        "headers",
        "body",
        "expected_status",
        "body_contains",
        "body_regex",
        "json_path",
        "json_equals",
        "tls_expiry_days",
        "follow_redirects",
        "tls_verify",
    },
    MonitorKind.TCP: set(),
    MonitorKind.DNS: {"record_type", "expected", "nameserver", "port"},
    MonitorKind.PING: {"count"},
    MonitorKind.HEARTBEAT: {"period", "grace", "cron", "tz"},
}
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
HOST_RE = re.compile(r"^[A-Za-z0-9._-]{1,253}$")


def _http(target: str, a: dict, errors: dict) -> None:
    try:
        http.vet_url(target)
    except ValueError as exc:
        errors["target"] = str(exc)
    if str(a.get("method", "GET")).upper() not in METHODS:
        errors["method"] = f"One of {', '.join(sorted(METHODS))}."
    headers = a.get("headers", {})
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        errors["headers"] = "An object of header names to string values."
    if not isinstance(a.get("body", ""), str):
        errors["body"] = "A string."
    codes = a.get("expected_status", [])
    if not isinstance(codes, list) or not all(isinstance(c, int) and 100 <= c <= 599 for c in codes):
        errors["expected_status"] = "A list of HTTP status codes (100-599)."
    if "body_regex" in a:
        try:
            re.compile(str(a["body_regex"]))
        except re.error as exc:
            errors["body_regex"] = f"Not a regular expression: {exc}"
    if "json_path" in a and not (isinstance(a["json_path"], str) and a["json_path"].strip()):
        errors["json_path"] = "A dotted path such as data.status."
    days = a.get("tls_expiry_days")
    if days is not None and (not isinstance(days, int) or not 1 <= days <= 365):
        errors["tls_expiry_days"] = "Days from 1 to 365."
    for flag in ("follow_redirects", "tls_verify"):
        if flag in a and not isinstance(a[flag], bool):
            errors[flag] = "true or false."


def _dns(target: str, a: dict, errors: dict) -> None:
    if not HOST_RE.match(target):
        errors["target"] = "A domain name."
    if str(a.get("record_type", "A")).upper() not in RECORD_TYPES:
        errors["record_type"] = f"One of {', '.join(RECORD_TYPES)}."
    expected = a.get("expected")
    if expected is not None and not (
        isinstance(expected, str)
        or (isinstance(expected, list) and all(isinstance(e, str) for e in expected))
    ):
        errors["expected"] = "An answer or a list of answers."
    if a.get("nameserver") is not None:
        try:
            ipaddress.ip_address(str(a["nameserver"]))
        except ValueError:
            errors["nameserver"] = "An IP address."
    port = a.get("port", 53)
    if not isinstance(port, int) or not 0 < port < 65536:
        errors["port"] = "A port from 1 to 65535."


def validate_monitor(*, kind: str, target: str, assertions: dict) -> None:  # noqa: PLR0912 - one branch per kind
    """Raise ValidationError with field detail when the target or an assertion does not fit the kind."""
    if kind not in MonitorKind.values:
        raise ValidationError({"kind": f"One of {', '.join(MonitorKind.values)}."})
    if not isinstance(assertions, dict):
        raise ValidationError({"assertions": "An object."})
    errors: dict[str, str] = {}
    unknown = set(assertions) - ALLOWED_KEYS[kind]
    if unknown:
        errors["assertions"] = f"Not an assertion of a {kind} monitor: {', '.join(sorted(unknown))}."
    target = (target or "").strip()
    if not target:
        errors["target"] = "This field is required."
    elif kind == MonitorKind.HTTP:
        _http(target, assertions, errors)
    elif kind == MonitorKind.TCP:
        try:
            split_host_port(target)
        except ValueError as exc:
            errors["target"] = str(exc)
    elif kind == MonitorKind.DNS:
        _dns(target, assertions, errors)
    elif kind == MonitorKind.PING:
        if not HOST_RE.match(target.strip("[]")):
            errors["target"] = "A host name or an IP address."
        count = assertions.get("count", 1)
        if not isinstance(count, int) or not 1 <= count <= 10:
            errors["count"] = "From 1 to 10."
    elif kind == MonitorKind.HEARTBEAT:
        errors.update(heartbeat.validate(assertions))
    if errors:
        raise ValidationError(errors)
