"""HTTP(S): one request through the platform's guarded client, then the monitor's assertions.

Assertions (all optional): ``method`` (GET), ``headers`` {}, ``body`` "", ``expected_status`` (a list
of codes; default any 2xx/3xx), ``body_contains``, ``body_regex``, ``json_path`` with ``json_equals``
(a dotted path: ``data.items.0.status``; list indexes are numbers), ``tls_expiry_days`` (a certificate
that expires sooner makes the result degraded), ``follow_redirects`` (true), ``tls_verify`` (true).

Redirects are followed here, hop by hop, each through the guard: a redirect into a refused address
fails the check as refused, like any other destination.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
import ssl
import time

import httpx
from cryptography import x509

from monitoring.models import Outcome
from monitoring.probes.base import ProbeResult, ProbeSpec
from opsplatform.core import http

MAX_REDIRECTS = 5
MAX_BODY = 1024 * 1024
_MISSING = object()


def json_lookup(document, path: str):
    """The value at a dotted path (``a.b.0.c``), or ``_MISSING``."""
    node = document
    for part in path.split("."):
        if isinstance(node, list) and part.lstrip("-").isdigit() and -len(node) <= int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return _MISSING
    return node


def _certificate_days_left(stream, now: dt.datetime) -> float | None:
    ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(True)  # DER, present even when verification is off
    if not der:
        return None
    expires = x509.load_der_x509_certificate(der).not_valid_after_utc
    return (expires - now).total_seconds() / 86400


@functools.cache
def _ssl_context(verify: bool) -> ssl.SSLContext:
    # Loading the CA bundle costs tens of milliseconds of CPU: once per process, not once per check
    # (an SSLContext is safe to share between threads).
    return httpx.create_ssl_context(verify=verify, trust_env=False)


def _client(verify: bool, timeout: float) -> httpx.Client:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=0)
    return httpx.Client(
        transport=http.GuardedTransport(limits=limits, verify=_ssl_context(verify)),
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": http.USER_AGENT + " monitor"},
    )


def _exchange(client: httpx.Client, spec: ProbeSpec):
    a = spec.assertions
    url = spec.target.strip()
    method = str(a.get("method", "GET")).upper()
    body = a.get("body") or None
    for _hop in range(MAX_REDIRECTS + 1):
        http.vet_url(url, refuse_literal=False)
        with client.stream(method, url, headers=a.get("headers") or {}, content=body) as response:
            days_left = _certificate_days_left(
                response.extensions.get("network_stream"), dt.datetime.now(dt.UTC)
            )
            content = bytearray()
            for chunk in response.iter_bytes():
                content += chunk
                if len(content) >= MAX_BODY:
                    break
        if response.is_redirect and a.get("follow_redirects", True):
            url = str(response.url.join(response.headers["location"]))
            if response.status_code in (301, 302, 303):
                method, body = ("GET", None) if method != "HEAD" else (method, None)
            continue
        return response, bytes(content[:MAX_BODY]), days_left
    raise httpx.TooManyRedirects(f"more than {MAX_REDIRECTS} redirects")


def _assert(spec: ProbeSpec, response: httpx.Response, content: bytes) -> str | None:  # noqa: PLR0911
    """The first failed assertion, in words; None when every one holds."""
    a = spec.assertions
    expected = a.get("expected_status")
    if expected:
        if response.status_code not in expected:
            return f"status {response.status_code}, expected {', '.join(map(str, expected))}"
    elif not 200 <= response.status_code < 400:
        return f"status {response.status_code}"
    text = content.decode(response.encoding or "utf-8", errors="replace")
    if a.get("body_contains") and a["body_contains"] not in text:
        return f"body does not contain {a['body_contains']!r}"
    if a.get("body_regex") and not re.search(a["body_regex"], text):
        return f"body does not match /{a['body_regex']}/"
    if a.get("json_path"):
        try:
            value = json_lookup(json.loads(text), a["json_path"])
        except ValueError:
            return "body is not JSON"
        if value is _MISSING:
            return f"{a['json_path']} is missing"
        if "json_equals" in a and value != a["json_equals"]:
            return f"{a['json_path']} is {value!r}, expected {a['json_equals']!r}"
    return None


def probe_sync(spec: ProbeSpec) -> ProbeResult:
    started = time.perf_counter()
    try:
        with _client(bool(spec.assertions.get("tls_verify", True)), spec.timeout) as client:
            response, content, days_left = _exchange(client, spec)
    except http.OutboundRefused as exc:
        return ProbeResult.down(f"refused: {exc}")
    except httpx.TimeoutException:
        return ProbeResult.down(f"timed out after {spec.timeout:g} s")
    except (httpx.HTTPError, ValueError) as exc:
        return ProbeResult.down(f"{type(exc).__name__}: {exc}")
    latency = (time.perf_counter() - started) * 1000
    failure = _assert(spec, response, content)
    if failure:
        return ProbeResult.down(failure, latency)
    result = ProbeResult(Outcome.UP, f"status {response.status_code}", latency).slow_check(spec)
    warn_days = spec.assertions.get("tls_expiry_days")
    if warn_days and days_left is not None and days_left < warn_days and result.outcome == Outcome.UP:
        result.outcome = Outcome.DEGRADED
        result.message = f"TLS certificate expires in {max(days_left, 0):.1f} days"
    return result
