"""A provider's discovery document and signing keys, fetched through the guarded HTTP client.

Both are cached in Redis (``SSO_METADATA_CACHE_SECONDS``). Keys are fetched again when a token names
a key id the cached set lacks, which is how a provider's key rotation shows; at most once per
``SSO_JWKS_REFRESH_SECONDS`` per provider, so tokens with made-up key ids cannot make us hammer it.
"""

import hashlib
import json

import httpx
from django.conf import settings
from django.core.cache import cache
from joserfc.jwk import KeySet

from opsplatform.accounts.sso import SsoError
from opsplatform.core import http

UNREACHABLE = "The identity provider could not be reached. Try again in a moment, or ask your administrator."
REQUIRED_METADATA = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")


def _cache_key(kind: str, issuer: str) -> str:
    return f"sso:{kind}:{hashlib.sha256(issuer.encode()).hexdigest()[:32]}"


def _fetch_json(url: str, what: str) -> dict:
    try:
        response = http.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise SsoError("provider_unreachable", UNREACHABLE, status=502) from exc
    if response.status_code != 200:
        raise SsoError("provider_unreachable", UNREACHABLE, status=502)
    try:
        document = json.loads(response.content)
    except ValueError as exc:
        raise SsoError(
            "provider_bad_metadata", f"The identity provider's {what} is not valid JSON.", status=502
        ) from exc
    if not isinstance(document, dict):
        raise SsoError("provider_bad_metadata", f"The identity provider's {what} is not valid.", status=502)
    return document


def metadata(issuer: str) -> dict:
    key = _cache_key("metadata", issuer)
    document = cache.get(key)
    if document is not None:
        return document
    document = _fetch_json(issuer.rstrip("/") + "/.well-known/openid-configuration", "discovery document")
    missing = [name for name in REQUIRED_METADATA if not isinstance(document.get(name), str)]
    if missing:
        raise SsoError(
            "provider_bad_metadata", f"The discovery document lacks {', '.join(missing)}.", status=502
        )
    # OpenID Connect Discovery §4.3: the document must name the issuer it was fetched for.
    if document["issuer"].rstrip("/") != issuer.rstrip("/"):
        raise SsoError("provider_bad_metadata", "The discovery document names another issuer.", status=502)
    cache.set(key, document, timeout=settings.SSO_METADATA_CACHE_SECONDS)
    return document


def signing_keys(issuer: str, *, refresh: bool = False) -> KeySet | None:
    """The provider's keys; with ``refresh``, fetched anew unless that happened very recently (then None)."""
    key = _cache_key("jwks", issuer)
    document = None if refresh else cache.get(key)
    if document is None:
        if refresh and not cache.add(
            _cache_key("jwks-refresh", issuer), 1, timeout=settings.SSO_JWKS_REFRESH_SECONDS
        ):
            return None
        document = _fetch_json(metadata(issuer)["jwks_uri"], "key set")
        cache.set(key, document, timeout=settings.SSO_METADATA_CACHE_SECONDS)
    try:
        return KeySet.import_key_set(document)
    except Exception as exc:  # joserfc raises several kinds for a malformed set
        raise SsoError(
            "provider_bad_keys", "The identity provider's key set is not valid.", status=502
        ) from exc
