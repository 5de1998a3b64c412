"""Who verified claims are here, and with which role.

In order: an identity already linked (provider, subject); else the one active account with the same
*verified* address, which gets linked; else, with just-in-time provisioning on, a new account. The
address must be in the provider's allowed domains. The role comes from the provider's claim → role
mapping (the highest match), else its default role; it is applied when the person joins and kept in
step at each sign-in, except for owners, whose role no claim changes.

Refusals are committed to the organization's ledger before :class:`SsoError` is raised.
"""

import re

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from opsplatform.accounts.models import ExternalIdentity, IdentityProvider, Membership
from opsplatform.accounts.sso import SsoError
from opsplatform.core import ledger
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Role, role_rank

User = get_user_model()

MESSAGES = {
    "domain_not_allowed": "Your e-mail address is not in a domain this organization allows to sign in.",
    "email_missing": "The identity provider did not share your e-mail address, which is needed to sign in.",
    "email_unverified": "The identity provider has not verified your e-mail address.",
    "no_account": "You have no account here yet. Ask an administrator of the organization to invite you.",
    "account_disabled": "Your account is disabled.",
    "ambiguous_email": "More than one account uses your e-mail address. Ask an administrator to link yours.",
}


def _refuse(provider: IdentityProvider, reason: str, claims: dict, ip: str, status: int = 403) -> SsoError:
    ledger.record(
        actor=Actor.system("sso", organization=provider.organization),
        verb="auth.sso_refused",
        target=provider,
        data={
            "reason": reason,
            "subject": str(claims.get("sub", ""))[:255],
            "email": masked_email(str(claims.get("email", ""))),
            "ip": ip,
        },
    )
    return SsoError(reason, MESSAGES.get(reason, "Sign-in refused."), status=status)


def masked_email(email: str) -> str:
    """The ledger is immutable: an address in it could never be erased, so it keeps only a hint."""
    local, at, domain = email.partition("@")
    return f"{local[:1]}…@{domain[:200]}" if at else ""


def refuse(
    *, provider: IdentityProvider, reason: str, message: str = "", status: int = 403, ip: str = ""
) -> SsoError:
    """Record a refusal that happened before the claims could be trusted (bad signature, nonce…)."""
    with transaction.atomic():
        error = _refuse(provider, reason, {}, ip, status)
    error.message = message or error.message
    return error


def mapped_role(provider: IdentityProvider, claims: dict) -> str | None:
    """The highest role the provider's mapping gives the claim's values; None when none matches."""
    values = claims.get(provider.role_claim) if provider.role_claim else None
    if isinstance(values, str):
        values = [values]
    roles = [
        provider.role_mapping[v] for v in values or [] if isinstance(v, str) and v in provider.role_mapping
    ]
    return max(roles, key=role_rank) if roles else None


def _email_of(claims: dict) -> str:
    email = claims.get("email")
    return email.strip().lower() if isinstance(email, str) else ""


def _verified(claims: dict) -> bool:
    return claims.get("email_verified") in (True, "true")


def _new_user(claims: dict, email: str):
    local = re.sub(r"[^a-z0-9._-]", "", email.split("@", 1)[0])[:120] or "user"
    taken = set(User.objects.filter(username__startswith=local).values_list("username", flat=True))
    username, n = local, 1
    while username in taken:
        n += 1
        username = f"{local}{n}"
    user = User(username=username, email=email, display_name=str(claims.get("name") or "")[:150])
    user.set_unusable_password()  # signs in through the provider (or an e-mail link), not a password
    user.save()
    return user


def _sync_role(membership: Membership, role: str | None, actor: Actor, provider) -> None:
    # Only a matching claim changes a role; an owner's never changes (owners are made by owners).
    if role is None or membership.role in (role, Role.OWNER):
        return
    previous = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    ledger.record(
        actor=actor,
        verb="membership.role_synced",
        target=membership.user,
        data={"from": previous, "to": role, "provider": provider.pk},
    )


def sign_in(*, provider: IdentityProvider, claims: dict, ip: str = "") -> tuple:
    """The local user the verified ``claims`` stand for, and how they were found
    ("linked", "matched" or "provisioned"); :class:`SsoError` when refused."""
    with transaction.atomic():
        result = _sign_in(provider, claims)
        if not isinstance(result, str):
            return result
        refused = _refuse(provider, result, claims, ip)
    raise refused


def _find_user(provider: IdentityProvider, claims: dict, subject: str, email: str):
    """(user, identity, how), or the reason for a refusal."""
    identity = (
        ExternalIdentity.objects.select_for_update()
        .select_related("user")
        .filter(provider=provider, subject=subject)
        .first()
    )
    if identity is not None:
        return identity.user, identity, "linked"
    if not email:
        return "email_missing"
    # Only an address the provider vouches for may claim an existing account or make a new one.
    if not _verified(claims):
        return "email_unverified"
    matches = list(User.objects.select_for_update().filter(email__iexact=email)[:2])
    if len(matches) > 1:
        return "ambiguous_email"
    if matches:
        user, how = matches[0], "matched"
    elif provider.jit_provisioning:
        user, how = _new_user(claims, email), "provisioned"
    else:
        return "no_account"
    identity = ExternalIdentity.objects.create(provider=provider, user=user, subject=subject, email=email)
    return user, identity, how


def _sign_in(provider: IdentityProvider, claims: dict):
    org = provider.organization
    subject, email = str(claims["sub"]), _email_of(claims)
    if email and provider.allowed_domains and email.rsplit("@", 1)[-1] not in provider.allowed_domains:
        return "domain_not_allowed"
    found = _find_user(provider, claims, subject, email)
    if isinstance(found, str):
        return found
    user, identity, how = found
    if not user.is_active:
        return "account_disabled"
    role = mapped_role(provider, claims)
    membership = Membership.objects.select_for_update().filter(organization=org, user=user).first()
    actor = Actor.system("sso", organization=org)
    if membership is None:
        if not provider.jit_provisioning:
            return "no_account"
        role = role or provider.default_role
        Membership.objects.create(organization=org, user=user, role=role)
        ledger.record(
            actor=actor, verb="membership.created", target=user, data={"role": role, "provider": provider.pk}
        )
    else:
        _sync_role(membership, role, actor, provider)
    if how != "linked":
        ledger.record(
            actor=actor,
            verb="auth.sso_provisioned" if how == "provisioned" else "auth.sso_linked",
            target=user,
            data={"provider": provider.pk, "subject": subject, "email": masked_email(email)},
        )
    identity.last_login_at = timezone.now()
    identity.email = email or identity.email
    identity.save(update_fields=["last_login_at", "email"])
    return user, how
