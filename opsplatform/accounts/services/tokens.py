"""API tokens: created with a secret shown once, revoked, and their last use recorded."""

import secrets
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from opsplatform.accounts.digests import TOKEN_PREFIX, digest
from opsplatform.accounts.models import ApiToken
from opsplatform.core import ledger
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Capability, Role, role_rank


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # the full bearer value; shown once


@transaction.atomic
def api_token_create(
    *, actor: Actor, name: str, role: str = "", expires_at=None, secret: str | None = None
) -> IssuedToken:
    """Issue a token; ``secret`` is only passed by the demo seeder, whose documented demo token
    must be stable.

    A token never outlives the token that created it. When the actor is an expiring token, no
    ``expires_at`` (None) means "as long as allowed" and is capped to the parent's expiry: what a
    client that never thought about expiry wants, and the page's "Never" has no other safe reading.
    An explicit ``expires_at`` later than the parent's is a request we cannot honour, so it is
    refused on ``expires_at`` rather than silently shortened. (A past expiry is the callers' check:
    the API refuses it, the page offers none, and tests use it to make an expired token.)
    """
    actor.require(Capability.TOKEN_CREATE)
    if actor.user is None:
        raise PermissionDenied("Only a person can own an API token.")
    if role and role not in Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}."})
    if not role and actor.token is not None and actor.token.role:
        # A token minted by a capped token inherits the cap; it never gains what its parent lacks.
        role = actor.role
    if role and role_rank(role) > role_rank(actor.role):
        raise ValidationError({"role": "A token cannot hold a role above its creator's."})
    if not name.strip():
        raise ValidationError({"name": "A token needs a name."})
    expires_at = _bounded_expiry(actor, expires_at)
    secret = secret or TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        organization=actor.organization,
        user=actor.user,
        name=name.strip(),
        prefix=secret[: len(TOKEN_PREFIX) + 8],
        key_hash=digest(secret),
        role=role,
        expires_at=expires_at,
    )
    ledger.record(
        actor=actor, verb="api_token.created", target=token, data={"name": token.name, "role": role}
    )
    return IssuedToken(token=token, secret=secret)


def _bounded_expiry(actor: Actor, expires_at):
    ceiling = actor.token.expires_at if actor.token is not None else None
    if ceiling is None:
        return expires_at
    if expires_at is None:
        return ceiling
    if expires_at > ceiling:
        limit = ceiling.isoformat()
        raise ValidationError({"expires_at": f"A token cannot outlive the token that creates it ({limit})."})
    return expires_at


@transaction.atomic
def api_token_revoke(*, actor: Actor, token: ApiToken) -> ApiToken:
    own = actor.user is not None and token.user_id == actor.user.pk
    if not own:
        actor.require(Capability.TOKEN_MANAGE)
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at:
        return token
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    ledger.record(actor=actor, verb="api_token.revoked", target=token, data={"name": token.name})
    return token


def api_token_touch(token: ApiToken) -> None:
    # Written at most once a minute per token: a hot token must not turn every read into a write.
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
