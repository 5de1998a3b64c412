"""The ingestion endpoints. Plain Django views: no session, no CSRF, no DRF; the integration key is the
credential (in the path, or ``Authorization: Bearer <key>``).

Order of checks, each answering before anything is written: body size (413, also enforced by
``ApiBodyLimitMiddleware`` for declared lengths), key (404 for unknown, disabled or another kind's
key), rate (429 with ``Retry-After``), Grafana signature (401), JSON and shape (400). A 2xx answer
means the payload, its alerts and incidents are committed. ``/v2/enqueue`` carries its key in the
body, so there the JSON is read first, and every answer has PagerDuty's shape.
"""

from __future__ import annotations

import json
import math
import re

from django.conf import settings
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from incidents.ingest import keys
from incidents.ingest.alert_event import PayloadError
from incidents.ingest.conf import ingest_settings
from incidents.ingest.formats import alertmanager, grafana, heartbeat, pagerduty, webhook
from incidents.ingest.pipeline import RawBody, ingest
from incidents.ingest.throttling import throttle_wait
from incidents.models import IntegrationKind
from incidents.models.integration import GRAFANA_SIGNATURE_HEADER
from opsplatform.api.parsers import MAX_JSON_DEPTH
from opsplatform.api.problems import problem_response
from opsplatform.core.crypto import DecryptionError, decrypt

ALLOW_POST = {"Allow": "POST"}


class BadRequest(Exception):
    def __init__(self, status: int, detail: str, errors: list[dict] | None = None):
        self.status, self.detail, self.errors = status, detail, errors
        super().__init__(detail)


def _bearer(request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def _read_body(request) -> bytes:
    """The body, never reading more than the limit (a chunked body declares no length)."""
    limit = settings.API_MAX_BODY_BYTES
    body = request.read(limit + 1)
    if len(body) > limit:
        raise BadRequest(413, f"The request body is over the limit of {limit} bytes.")
    return body


def _strip_nul(value):
    """PostgreSQL text and jsonb cannot hold NUL characters; JSON can (as \\u0000)."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [_strip_nul(item) for item in value]
    if isinstance(value, dict):
        return {_strip_nul(k): _strip_nul(v) for k, v in value.items()}
    return value


_SURROGATE = re.compile("[\ud800-\udfff]")


def _lone_surrogate_at(value, path: str = "") -> str | None:
    """Where the document holds a lone surrogate, or None. JSON's \\u escapes can spell one; it is
    not Unicode text, so it can be neither encoded nor stored. json.loads joins valid pairs into
    one character, so every surrogate code point left in a string is a lone one."""
    stack = [(value, path)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, str):
            if _SURROGATE.search(node):
                return where or "/"
        elif isinstance(node, list):
            stack.extend((item, f"{where}/{index}") for index, item in enumerate(node))
        elif isinstance(node, dict):
            for key, item in node.items():
                if _SURROGATE.search(key):
                    return where or "/"
                stack.append((item, f"{where}/{key}"))
    return None


def _too_deep(value, limit: int) -> bool:
    """Whether containers nest deeper than ``limit`` (walks containers only: scalars cost nothing)."""
    if not isinstance(value, dict | list):
        return False
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        for child in node.values() if isinstance(node, dict) else node:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
    return False


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def _parse_json(body: bytes):
    if not body.strip():
        raise BadRequest(400, "The request body is empty; expected a JSON document.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(400, "The request body is not valid UTF-8.") from exc
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except RecursionError as exc:
        raise BadRequest(400, "The JSON document is nested too deeply.") from exc
    except ValueError as exc:
        raise BadRequest(400, f"JSON parse error: {exc}") from exc
    if _too_deep(data, MAX_JSON_DEPTH):
        raise BadRequest(400, f"The JSON document is nested deeper than {MAX_JSON_DEPTH} levels.")
    # Escapes are the only way a surrogate gets in (the body is valid UTF-8): look only then.
    if "\\u" in text and (where := _lone_surrogate_at(data)) is not None:
        raise BadRequest(
            400,
            f"The JSON document holds a lone surrogate (an unpaired \\uD800-\\uDFFF escape) at {where}; "
            "it is not Unicode text.",
        )
    if "\\u0000" in text:
        data = _strip_nul(data)
    return data


def _summary(errors: list[dict]) -> str:
    if not errors:
        return "The payload is invalid."
    text = f"{errors[0]['field']}: {errors[0]['message']}"
    return text + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else "")


def _problem(request, exc: BadRequest, headers=None):
    fields = {"detail": exc.detail}
    if exc.errors is not None:
        fields["errors"] = exc.errors
        fields["problem_type"] = "validation-error"
    return problem_response(request, exc.status, headers=headers, **fields)


def _too_many(request, wait: float, *, pagerduty_format=False):
    headers = {"Retry-After": str(max(1, math.ceil(wait)))}
    if pagerduty_format:
        response = JsonResponse(
            {"status": "throttle event", "message": "Requests for this routing key are being throttled"},
            status=429,
        )
        response["Retry-After"] = headers["Retry-After"]
        return response
    return problem_response(request, 429, detail="Too many requests for this integration.", headers=headers)


def _verify_grafana(request, integration, body: bytes) -> None:
    if not integration.hmac_secret:
        return
    try:
        secret = decrypt(integration.hmac_secret, context=f"integration:{integration.pk}")
    except DecryptionError as exc:
        raise BadRequest(401, "The integration's signing secret cannot be read; set it again.") from exc
    timestamp_header = integration.hmac_timestamp_header
    try:
        grafana.verify_signature(
            secret=secret,
            body=body,
            signature=request.headers.get(integration.hmac_header or GRAFANA_SIGNATURE_HEADER),
            timestamp=request.headers.get(timestamp_header) if timestamp_header else None,
            max_age_seconds=ingest_settings().signature_max_age_seconds,
        )
    except grafana.SignatureError as exc:
        raise BadRequest(401, str(exc)) from exc


PARSERS = {
    IntegrationKind.ALERTMANAGER: alertmanager.parse,
    IntegrationKind.GRAFANA: grafana.parse,
    IntegrationKind.WEBHOOK: webhook.parse,
}


def _accepted(outcome, status=202) -> JsonResponse:
    return JsonResponse(
        {
            "status": "accepted",
            "payload": str(outcome.payload_id),
            "events": len(outcome.results),
            "incidents": outcome.incident_ids,
            "outcomes": outcome.summary(),
        },
        status=status,
    )


def _format_endpoint(request, key: str | None, kind: str):
    if request.method != "POST":
        return problem_response(request, 405, detail="Use POST.", headers=ALLOW_POST)
    try:
        body = _read_body(request)
        target = keys.load_target(key or _bearer(request), kind=kind)
        if target is None:
            raise BadRequest(404, f"No enabled {kind} integration has this key.")
        integration = target.integration
        wait = throttle_wait(integration, request)
        if wait is not None:
            return _too_many(request, wait)
        if kind == IntegrationKind.GRAFANA:
            _verify_grafana(request, integration, body)
        data = _parse_json(body)
        try:
            events = PARSERS[kind](data, integration=integration)
        except PayloadError as exc:
            raise BadRequest(400, _summary(exc.errors), exc.errors) from exc
    except BadRequest as exc:
        return _problem(request, exc)
    notes = {}
    truncated = alertmanager.truncated_alerts(data) if kind != IntegrationKind.WEBHOOK else 0
    if truncated:
        notes = {"truncated_alerts": truncated}
    outcome = ingest(
        integration=integration,
        events=events,
        raw=RawBody(body=body, content_type=request.content_type or "", notes=notes),
        rules=target.rules,
        windows=target.windows,
    )
    return _accepted(outcome)


@csrf_exempt
def alertmanager_endpoint(request, key=None):
    return _format_endpoint(request, key, IntegrationKind.ALERTMANAGER)


@csrf_exempt
def grafana_endpoint(request, key=None):
    return _format_endpoint(request, key, IntegrationKind.GRAFANA)


@csrf_exempt
def webhook_endpoint(request, key=None):
    return _format_endpoint(request, key, IntegrationKind.WEBHOOK)


@csrf_exempt
def heartbeat_endpoint(request, key=None):
    if request.method not in ("GET", "POST", "HEAD"):
        return problem_response(request, 405, detail="Use GET or POST.", headers={"Allow": "GET, HEAD, POST"})
    try:
        body = _read_body(request) if request.method == "POST" else b""
        target = keys.load_target(key or _bearer(request), kind=IntegrationKind.HEARTBEAT)
        if target is None:
            raise BadRequest(404, "No enabled heartbeat integration has this key.")
        integration = target.integration
    except BadRequest as exc:
        return _problem(request, exc)
    wait = throttle_wait(integration, request)
    if wait is not None:
        return _too_many(request, wait)
    now = timezone.now()
    ingest(
        integration=integration,
        events=[heartbeat.ping_event(integration, now=now)],
        raw=RawBody(body=body, content_type=request.content_type or "", notes={"ping": request.method}),
        heartbeat=True,
        now=now,
        rules=target.rules,
        windows=target.windows,
    )
    return JsonResponse(
        {"status": "ok", "next_check_at": heartbeat.next_check(integration, now=now).isoformat()}
    )


# --- PagerDuty Events API v2 ----------------------------------------------------------------------


class PagerDutyError(Exception):
    def __init__(
        self, status: int, errors: list[str], *, message="Event object is invalid", state="invalid event"
    ):
        self.status, self.errors, self.message, self.state = status, errors, message, state
        super().__init__(message)

    def response(self) -> JsonResponse:
        body = {"status": self.state, "message": self.message, "errors": self.errors}
        return JsonResponse(body, status=self.status)


def _pd_target(body: bytes):
    try:
        data = _parse_json(body)
    except BadRequest as exc:
        raise PagerDutyError(exc.status, [exc.detail]) from exc
    routing_key = pagerduty.routing_key(data)
    if routing_key is None:
        raise PagerDutyError(400, ["'routing_key' is missing or blank"])
    target = keys.load_target(routing_key, kind=IntegrationKind.PAGERDUTY)
    if target is None:
        raise PagerDutyError(
            404,
            ["'routing_key' is not the key of an enabled integration"],
            message="Unknown routing key",
            state="invalid routing key",
        )
    return target, data


@csrf_exempt
def pagerduty_enqueue(request):
    if request.method != "POST":
        response = PagerDutyError(405, ["Use POST."], message="Method not allowed", state="invalid request")
        response = response.response()
        response["Allow"] = "POST"
        return response
    try:
        body = _read_body(request)
    except BadRequest as exc:
        return PagerDutyError(exc.status, [exc.detail]).response()
    try:
        target, data = _pd_target(body)
        integration = target.integration
        wait = throttle_wait(integration, request)
        if wait is not None:
            return _too_many(request, wait, pagerduty_format=True)
        try:
            events = pagerduty.parse(data, integration=integration)
        except PayloadError as exc:
            raise PagerDutyError(400, pagerduty.pd_messages(exc)) from exc
    except PagerDutyError as exc:
        return exc.response()
    ingest(
        integration=integration,
        events=events,
        raw=RawBody(body=body, content_type=request.content_type or ""),
        rules=target.rules,
        windows=target.windows,
    )
    return JsonResponse(pagerduty.accepted_body(events[0].dedup_key), status=202)
