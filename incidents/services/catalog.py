import hashlib
import unicodedata

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from audit.services import record
from incidents.models import Service, Severity, Tier
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Capability
from opsplatform.core.changes import apply_changes

FIELDS = {
    "name",
    "description",
    "tier",
    "owner_team",
    "runbook_links",
    "labels",
    "default_severity",
    "in_maintenance",
}


def _validate(organization, values: dict) -> None:
    errors = {}
    for field in set(values) - FIELDS:
        errors[field] = "Unknown field."
    if "name" in values and not str(values["name"]).strip():
        errors["name"] = "A service needs a name."
    if "tier" in values and values["tier"] not in Tier.values:
        errors["tier"] = f"Choose one of {', '.join(Tier.values)}."
    if "default_severity" in values and values["default_severity"] not in Severity.values:
        errors["default_severity"] = f"Choose one of {', '.join(Severity.values)}."
    team = values.get("owner_team")
    if team is not None and team.organization_id != organization.pk:
        errors["owner_team"] = "Not found."
    links = values.get("runbook_links", [])
    if not isinstance(links, list) or not all(
        isinstance(link, dict) and str(link.get("url", "")).startswith(("http://", "https://"))
        for link in links
    ):
        errors["runbook_links"] = 'A list of {"title": …, "url": "https://…"} objects.'
    labels = values.get("labels", {})
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        errors["labels"] = "Labels are an object of strings."
    if errors:
        raise ValidationError(errors)


def _ledger_view(values: dict) -> dict:
    return {k: getattr(v, "pk", v) for k, v in values.items()}


def service_slug(name: str) -> str:
    """A valid, stable slug for any name. An ASCII name keeps its readable slug ("Payments API" →
    "payments-api"). Any other name gets what ASCII it has plus a digest of the whole name: slugify
    drops other scripts and accents, so "日本" would be empty (against the slug pattern) and "Café"
    would collide with "Cafe". The digest is of the case-folded, normalized name, so the same name
    twice is still a duplicate, like two ASCII names differing only in case."""
    name = name.strip()
    readable = slugify(name)[:80].strip("-")
    if name.isascii() and readable:
        return readable
    folded = unicodedata.normalize("NFKC", name).casefold()
    digest = hashlib.sha256(folded.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{readable[:69].strip('-') or 'service'}-{digest}"


@transaction.atomic
def service_create(*, actor: Actor, name: str, **values) -> Service:
    actor.require(Capability.SERVICE_MANAGE)
    _validate(actor.organization, {"name": name, **values})
    slug = service_slug(name)
    duplicate = ValidationError({"name": "A service with this name already exists."})
    if Service.objects.filter(organization=actor.organization, slug=slug).exists():
        raise duplicate
    try:
        with transaction.atomic():  # the same name created concurrently: the unique constraint decides
            service = Service.objects.create(
                organization=actor.organization, name=name.strip(), slug=slug, **values
            )
    except IntegrityError:
        raise duplicate from None
    record(actor=actor, verb="service.created", target=service, data=_ledger_view({"name": name, **values}))
    return service


@transaction.atomic
def service_update(*, actor: Actor, service: Service, **values) -> Service:
    actor.require(Capability.SERVICE_MANAGE, service)
    _validate(service.organization, values)
    service = Service.objects.select_for_update().get(pk=service.pk)
    changed = apply_changes(service, values)
    if not changed:
        return service
    service.save(update_fields=list(changed))
    record(actor=actor, verb="service.updated", target=service, data={"changes": _ledger_view(changed)})
    return service


@transaction.atomic
def service_delete(*, actor: Actor, service: Service) -> None:
    actor.require(Capability.SERVICE_MANAGE, service)
    record(actor=actor, verb="service.deleted", target=service, data={"name": service.name})
    service.delete()
