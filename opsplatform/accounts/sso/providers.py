"""Configuring an organization's identity providers (admins), and reading a provider's secret.

The client secret is encrypted at rest (``opsplatform.core.crypto``) with the provider's id as
context, so a sealed value copied onto another row does not open. Owners alone turn "SSO required"
on or off (it changes how admins sign in too).
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.text import slugify

from opsplatform.accounts.models import IdentityProvider, Organization
from opsplatform.core import crypto, http, ledger
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Capability, Role, role_rank
from opsplatform.core.changes import apply_changes, refuse_unknown

FIELDS = {
    "name",
    "issuer",
    "client_id",
    "client_secret",
    "scopes",
    "allowed_domains",
    "role_claim",
    "role_mapping",
    "default_role",
    "jit_provisioning",
    "enabled",
}


def _context(provider: IdentityProvider) -> str:
    return f"identity-provider:{provider.pk}"


def client_secret(provider: IdentityProvider) -> str:
    return (
        crypto.decrypt(provider.client_secret_sealed, context=_context(provider))
        if provider.client_secret_sealed
        else ""
    )


def _same_org(actor: Actor, organization) -> None:
    if actor.organization is None or actor.organization.pk != organization.pk:
        raise PermissionDenied("You can only change your own organization.")


def _issuer_error(issuer: str) -> str:
    try:
        parsed = http.vet_url(issuer, refuse_literal=not settings.SSO_ALLOW_HTTP_ISSUERS)
    except ValueError as exc:
        return str(exc)
    if parsed.scheme != "https" and not settings.SSO_ALLOW_HTTP_ISSUERS:
        return "The issuer must be an https:// URL."
    return ""


def _clean(values: dict) -> dict:
    errors = {}
    if "issuer" in values:
        values["issuer"] = values["issuer"].strip().rstrip("/")
        if error := _issuer_error(values["issuer"]):
            errors["issuer"] = error
    if "allowed_domains" in values:
        domains = values["allowed_domains"]
        if isinstance(domains, str):
            domains = domains.replace(",", " ").split()
        domains = sorted({d.strip().lower().lstrip("@") for d in domains if d.strip()})
        if any("." not in d or "/" in d for d in domains):
            errors["allowed_domains"] = "List domains like example.com, separated by spaces or commas."
        values["allowed_domains"] = domains
    if "role_mapping" in values:
        mapping = values["role_mapping"]
        if not isinstance(mapping, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()
        ):
            errors["role_mapping"] = 'A mapping like {"ops-admins": "admin"}.'
        elif any(v not in Role.values or role_rank(v) >= role_rank(Role.OWNER) for v in mapping.values()):
            # Owners are made by owners, never by a claim an outside system controls.
            errors["role_mapping"] = "Map claim values to viewer, operator, manager or admin."
    if "default_role" in values and (
        values["default_role"] not in Role.values or values["default_role"] == Role.OWNER
    ):
        errors["default_role"] = "Choose viewer, operator, manager or admin."
    if "scopes" in values and "openid" not in values["scopes"].split():
        errors["scopes"] = 'The scopes must include "openid".'
    if errors:
        raise ValidationError(errors)
    return values


@transaction.atomic
def identity_provider_create(*, actor: Actor, organization: Organization, **values) -> IdentityProvider:
    _same_org(actor, organization)
    actor.require(Capability.ORGANIZATION_MANAGE)
    refuse_unknown(values, FIELDS)
    secret = values.pop("client_secret", "")
    values = _clean(values)
    base = slugify(values.get("name", "")) or "provider"
    slug, n = base, 1
    while IdentityProvider.objects.filter(organization=organization, slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    provider = IdentityProvider(organization=organization, slug=slug, **values)
    provider.full_clean(exclude=["client_secret_sealed"])
    provider.save()
    if secret:
        provider.client_secret_sealed = crypto.encrypt(secret, context=_context(provider))
        provider.save(update_fields=["client_secret_sealed"])
    ledger.record(
        actor=actor,
        verb="sso.provider_created",
        target=provider,
        data={"name": provider.name, "issuer": provider.issuer, "client_id": provider.client_id},
    )
    return provider


@transaction.atomic
def identity_provider_update(*, actor: Actor, provider: IdentityProvider, **changes) -> IdentityProvider:
    _same_org(actor, provider.organization)
    actor.require(Capability.ORGANIZATION_MANAGE)
    refuse_unknown(changes, FIELDS)
    provider = IdentityProvider.objects.select_for_update().get(pk=provider.pk)
    secret = changes.pop("client_secret", None)
    changed = apply_changes(provider, _clean(changes))
    if secret:
        provider.client_secret_sealed = crypto.encrypt(secret, context=_context(provider))
        changed["client_secret"] = "(replaced)"
    if not changed:
        return provider
    provider.full_clean()
    provider.save()
    ledger.record(actor=actor, verb="sso.provider_updated", target=provider, data={"fields": sorted(changed)})
    return provider


@transaction.atomic
def organization_set_sso_required(
    *, actor: Actor, organization: Organization, required: bool
) -> Organization:
    _same_org(actor, organization)
    actor.require(Capability.MEMBER_MANAGE_OWNERS)
    org = Organization.objects.select_for_update().get(pk=organization.pk)
    if org.sso_required == required:
        return org
    if required and not IdentityProvider.objects.filter(organization=org, enabled=True).exists():
        raise ValidationError({"sso_required": "Add and enable an identity provider first."})
    org.sso_required = required
    org.save(update_fields=["sso_required"])
    ledger.record(actor=actor, verb="sso.required_changed", target=org, data={"required": required})
    return org
