"""Secrets masked on pages: integration keys, tokens and secret-looking values in stored payloads.

Pages show what a sender posted, and senders put credentials in bodies (PagerDuty's ``routing_key``),
in URLs (a key in the path) and in headers. The families are those ``opsplatform.core.logging``
redacts; here a key keeps its public prefix (``opi_Ab12cd…``, the ``key_prefix`` the integration
row stores and the pages show), so an operator can tell which key a sender used without seeing it.
"""

from __future__ import annotations

import json
import re

from incidents.ingest.keys import KEY_PREFIX

MASK = "••••"
# What of a key stays visible: our prefix and six characters, exactly ``Integration.key_prefix``.
VISIBLE = len(KEY_PREFIX) + 6

# Our own secret formats (integration keys, API tokens, signing secrets, calendar feeds).
_OWN_SECRET = re.compile(r"\b(?:opk|opi|whsec|ocal)_[A-Za-z0-9_-]{8,}")
# Authorization schemes: the word stays ("Bearer ••••"), the credential after it goes.
_SCHEMES = ("bearer", "basic", "token", "digest")
_SCHEME = re.compile(rf"(?i)^({'|'.join(_SCHEMES)})\s+\S")
_BEARER = re.compile(r"(?i)\b((?:bearer|basic|digest)\s+)[A-Za-z0-9._~+/=-]{4,}")
# name=value / "name": "value" pairs whose name says it is a secret.
_SECRET_PAIR = re.compile(
    r"(?i)((?:password|passwd|secret|token|api[_-]?key|routing_key|authorization|signature)[\"']?\s*[:=]\s*[\"']?)"
    r"([^\s,\"'&}]+)"
)
# URL paths whose last segment is a credential (one-click acknowledge links, invitations, feeds).
_SECRET_PATH = re.compile(r"(/(?:ack|invitations|oncall/calendar)/)[^/\s?\"']+")
_SECRET_NAME = re.compile(
    r"(?i)(password|passwd|secret|token|api[_-]?key|routing[_-]?key|authorization|signature|credential)"
)


def mask_key(value: str) -> str:
    """``opi_Ab12cd…••••``: the stored prefix and a mask."""
    return f"{value[:VISIBLE]}…{MASK}" if len(value) > VISIBLE else MASK


def mask_text(text: str) -> str:
    """Every secret-looking run in free text (a URL, a header, a non-JSON body) masked."""
    text = _OWN_SECRET.sub(lambda m: mask_key(m.group(0)), text)
    text = _BEARER.sub(lambda m: m.group(1) + MASK, text)
    text = _SECRET_PAIR.sub(lambda m: m.group(1) + _masked_value(m.group(2)), text)
    return _SECRET_PATH.sub(lambda m: m.group(1) + MASK, text)


def _masked_value(value: str) -> str:
    if value.endswith(MASK) or value.lower() in _SCHEMES:
        return value  # already masked (a key with its prefix kept), or an auth scheme before one
    return mask_key(value) if _OWN_SECRET.fullmatch(value) else MASK


def mask_data(value):
    """A decoded JSON document with values under secret-named keys masked, and every string's
    secret-looking runs masked (keys in URLs, bearer headers)."""
    if isinstance(value, dict):
        return {
            key: _mask_named(item) if _SECRET_NAME.search(str(key)) else mask_data(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [mask_data(item) for item in value]
    if isinstance(value, str):
        return mask_text(value)
    return value


def _mask_named(value):
    if isinstance(value, str) and value:
        if _OWN_SECRET.fullmatch(value):
            return mask_key(value)
        scheme = _SCHEME.match(value)
        return f"{scheme.group(1)} {MASK}" if scheme else MASK  # "Bearer ••••": the scheme is no secret
    if isinstance(value, dict | list):
        return mask_data(value)
    return value


def pretty_payload(body: str) -> str:
    """A stored body for reading: JSON indented (two spaces), secrets masked; other text masked as is."""
    try:
        document = json.loads(body)
    except ValueError:
        return mask_text(body)
    if not isinstance(document, dict | list):
        return mask_text(body)
    # Masked as text once more: a second net for what the walk does not see (e.g. a key as a dict key).
    return mask_text(json.dumps(mask_data(document), indent=2, ensure_ascii=False))
