"""The authorization code flow with PKCE (RFC 7636), state and nonce; the ID token verified.

Authlib builds the authorization request and the token request's body; the token request goes
through the guarded HTTP client (SSRF guard, deadline, capped answer). joserfc verifies the ID
token's signature against the provider's JWKS and checks its claims: issuer, audience, expiry,
issued-at, nonce, and the authorized party when there are several audiences.
"""

import base64
import json
import secrets
import time
from dataclasses import dataclass
from urllib.parse import quote

import httpx
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from django.conf import settings
from joserfc import jwt
from joserfc.errors import ExpiredTokenError, InvalidKeyIdError, JoseError

from opsplatform.accounts.sso import SsoError, discovery
from opsplatform.core import http

# Asymmetric algorithms only: "none" and HS256 (keyed with the client secret) are refused.
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]
CLOCK_LEEWAY_SECONDS = 60


@dataclass(frozen=True)
class Flow:
    """What the browser's session keeps between the redirect out and the callback."""

    provider_id: int
    state: str
    nonce: str
    code_verifier: str
    started_at: float

    def as_session(self) -> dict:
        return self.__dict__.copy()

    @classmethod
    def from_session(cls, value) -> "Flow | None":
        try:
            return cls(**value)
        except TypeError:
            return None


def begin(provider, *, redirect_uri: str) -> tuple[str, Flow]:
    """The provider's authorization URL, and the flow to keep in the session."""
    endpoints = discovery.metadata(provider.issuer)
    flow = Flow(
        provider_id=provider.pk,
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        code_verifier=secrets.token_urlsafe(64),
        started_at=time.time(),
    )
    url = prepare_grant_uri(
        endpoints["authorization_endpoint"],
        client_id=provider.client_id,
        response_type="code",
        redirect_uri=redirect_uri,
        scope=provider.scopes,
        state=flow.state,
        nonce=flow.nonce,
        code_challenge=create_s256_code_challenge(flow.code_verifier),
        code_challenge_method="S256",
    )
    return url, flow


def _basic_auth(client_id: str, client_secret: str) -> str:
    # RFC 6749 §2.3.1: both parts are form-urlencoded before they are joined and encoded.
    text = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}"
    return "Basic " + base64.b64encode(text.encode()).decode()


def exchange_code(provider, *, flow: Flow, code: str, redirect_uri: str, client_secret: str) -> str:
    """The ID token the provider gives for ``code`` (and the PKCE verifier).

    The request goes through the guarded client (SSRF guard, deadline, capped body)."""
    endpoints = discovery.metadata(provider.issuer)
    body = prepare_token_request(
        "authorization_code", code=code, redirect_uri=redirect_uri, code_verifier=flow.code_verifier
    )
    try:
        response = http.post(
            endpoints["token_endpoint"],
            content=body.encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
                "Authorization": _basic_auth(provider.client_id, client_secret),
            },
        )
    except httpx.HTTPError as exc:
        raise SsoError("provider_unreachable", discovery.UNREACHABLE, status=502) from exc
    if response.status_code >= 500:
        raise SsoError("provider_unreachable", discovery.UNREACHABLE, status=502)
    try:
        token = json.loads(response.content)
    except ValueError:
        token = None
    if response.status_code != 200 or not isinstance(token, dict):
        raise SsoError("token_refused", "The identity provider refused to complete the sign-in. Try again.")
    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        raise SsoError("no_id_token", "The identity provider did not send an ID token.")
    return id_token


def _decode(id_token: str, issuer: str):
    keys = discovery.signing_keys(issuer)
    try:
        return jwt.decode(id_token, keys, algorithms=ALGORITHMS)
    except InvalidKeyIdError:
        # A key id we do not know: the provider may have rotated its keys since we fetched them.
        fresh = discovery.signing_keys(issuer, refresh=True)
        if fresh is None:
            raise
        return jwt.decode(id_token, fresh, algorithms=ALGORITHMS)


def verify_id_token(provider, *, id_token: str, nonce: str) -> dict:
    """The ID token's claims once its signature and claims check out; SsoError otherwise."""
    issuer = discovery.metadata(provider.issuer)["issuer"]
    try:
        token = _decode(id_token, provider.issuer)
    except JoseError as exc:
        raise SsoError("bad_signature", "The identity provider's answer could not be verified.") from exc
    except ValueError as exc:
        raise SsoError("bad_token", "The identity provider's answer could not be read.") from exc
    claims = token.claims
    registry = jwt.JWTClaimsRegistry(
        leeway=CLOCK_LEEWAY_SECONDS,
        iss={"essential": True, "value": issuer},
        sub={"essential": True},
        aud={"essential": True, "value": provider.client_id},
        exp={"essential": True},
        iat={"essential": True},
    )
    try:
        registry.validate(claims)
    except ExpiredTokenError as exc:
        raise SsoError("token_expired", "The sign-in took too long. Try again.") from exc
    except JoseError as exc:
        raise SsoError(
            "bad_claims", "The identity provider's answer was not meant for this sign-in."
        ) from exc
    # The nonce ties the token to this browser's request: a token replayed from elsewhere lacks it.
    if not isinstance(claims.get("nonce"), str) or not secrets.compare_digest(claims["nonce"], nonce):
        raise SsoError("bad_nonce", "The identity provider's answer was not meant for this sign-in.")
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != provider.client_id:
        raise SsoError("bad_claims", "The identity provider's answer was not meant for this sign-in.")
    if (
        settings.SSO_MAX_TOKEN_AGE_SECONDS
        and claims["iat"] < time.time() - settings.SSO_MAX_TOKEN_AGE_SECONDS
    ):
        raise SsoError("token_expired", "The sign-in took too long. Try again.")
    return claims
