"""Status pages and their components: create, update, delete; each checks, writes, records a ledger entry."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.services import record
from incidents.models import Service
from monitoring.models import Monitor
from monitoring.statuspages.models import StatusComponent, StatusPage
from monitoring.statuspages.selectors import forget
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Capability

PAGE_FIELDS = ("slug", "title", "description", "custom_domain", "published", "subscriptions_enabled")
COMPONENT_FIELDS = ("name", "description", "group", "position", "show_uptime")


def _clean(obj, exclude=("organization", "page", "monitors", "services")) -> None:
    try:
        obj.full_clean(exclude=list(exclude), validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise ValidationError(exc.message_dict) from exc


def _check_page(page: StatusPage) -> None:
    page.slug = (page.slug or "").strip().lower()
    page.title = (page.title or "").strip()
    page.custom_domain = (page.custom_domain or "").strip().lower().rstrip(".")
    _clean(page)
    if StatusPage.objects.filter(slug=page.slug).exclude(pk=page.pk).exists():
        raise ValidationError({"slug": "This address is taken."})
    if (
        page.custom_domain
        and StatusPage.objects.filter(custom_domain=page.custom_domain).exclude(pk=page.pk).exists()
    ):
        raise ValidationError({"custom_domain": "Another status page uses this host."})


@transaction.atomic
def page_create(*, actor: Actor, title: str, slug: str = "", **values) -> StatusPage:
    actor.require(Capability.MONITOR_MANAGE)
    now = timezone.now()
    page = StatusPage(
        organization=actor.organization,
        title=title,
        slug=slug or actor.organization.slug,
        created_at=now,
        updated_at=now,
        **{k: v for k, v in values.items() if k in PAGE_FIELDS},
    )
    unknown = set(values) - set(PAGE_FIELDS)
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "Unknown field."))
    _check_page(page)
    page.save()
    record(
        actor=actor, verb="status_page.created", target=page, data={f: getattr(page, f) for f in PAGE_FIELDS}
    )
    return page


@transaction.atomic
def page_update(*, actor: Actor, page: StatusPage, **values) -> StatusPage:
    actor.require(Capability.MONITOR_MANAGE)
    page = StatusPage.objects.select_for_update().get(pk=page.pk, organization=actor.organization)
    changed = {}
    for name, value in values.items():
        if name not in PAGE_FIELDS:
            raise ValidationError({name: "Cannot be changed."})
        if getattr(page, name) != value:
            setattr(page, name, value)
            changed[name] = value
    if not changed:
        return page
    _check_page(page)
    page.updated_at = timezone.now()
    page.save()
    record(actor=actor, verb="status_page.updated", target=page, data={"changed": changed})
    transaction.on_commit(lambda: forget(page.pk))
    return page


@transaction.atomic
def page_delete(*, actor: Actor, page: StatusPage) -> None:
    actor.require(Capability.MONITOR_MANAGE)
    record(actor=actor, verb="status_page.deleted", target=page, data={"slug": page.slug})
    page_id = page.pk
    page.delete()
    transaction.on_commit(lambda: forget(page_id))


def _bound(actor: Actor, monitors, services) -> tuple[list, list]:
    """The monitors and services named, all of the actor's organization, or a field error."""
    found_monitors = list(
        Monitor.objects.filter(
            organization=actor.organization, pk__in=[getattr(m, "pk", m) for m in monitors or []]
        )
    )
    if len(found_monitors) != len({getattr(m, "pk", m) for m in monitors or []}):
        raise ValidationError({"monitors": "Not monitors of this organization."})
    found_services = list(
        Service.objects.filter(
            organization=actor.organization, pk__in=[getattr(s, "pk", s) for s in services or []]
        )
    )
    if len(found_services) != len({getattr(s, "pk", s) for s in services or []}):
        raise ValidationError({"services": "Not services of this organization."})
    return found_monitors, found_services


def _check_component(component: StatusComponent) -> None:
    component.name = (component.name or "").strip()
    component.group = (component.group or "").strip()
    _clean(component)
    if (
        StatusComponent.objects.filter(page_id=component.page_id, name=component.name)
        .exclude(pk=component.pk)
        .exists()
    ):
        raise ValidationError({"name": "This page already has a component with this name."})


@transaction.atomic
def component_create(
    *, actor: Actor, page: StatusPage, name: str, monitors=(), services=(), **values
) -> StatusComponent:
    actor.require(Capability.MONITOR_MANAGE)
    page = StatusPage.objects.select_for_update().get(pk=page.pk, organization=actor.organization)
    unknown = set(values) - set(COMPONENT_FIELDS)
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "Unknown field."))
    found_monitors, found_services = _bound(actor, monitors, services)
    now = timezone.now()
    if "position" not in values:
        last = page.components.order_by("-position").values_list("position", flat=True).first()
        values["position"] = 0 if last is None else last + 1
    component = StatusComponent(
        organization=actor.organization, page=page, name=name, created_at=now, updated_at=now, **values
    )
    _check_component(component)
    component.save()
    component.monitors.set(found_monitors)
    component.services.set(found_services)
    record(
        actor=actor,
        verb="status_component.created",
        target=component,
        data={
            "page": page.pk,
            "name": component.name,
            "monitors": [m.pk for m in found_monitors],
            "services": [s.pk for s in found_services],
        },
    )
    transaction.on_commit(lambda: forget(page.pk))
    return component


@transaction.atomic
def component_update(
    *, actor: Actor, component: StatusComponent, monitors=None, services=None, **values
) -> StatusComponent:
    actor.require(Capability.MONITOR_MANAGE)
    component = StatusComponent.objects.select_for_update().get(
        pk=component.pk, organization=actor.organization
    )
    changed = {}
    for name, value in values.items():
        if name not in COMPONENT_FIELDS:
            raise ValidationError({name: "Cannot be changed."})
        if getattr(component, name) != value:
            setattr(component, name, value)
            changed[name] = value
    if monitors is not None or services is not None:
        found_monitors, found_services = _bound(actor, monitors or [], services or [])
        if monitors is not None and {m.pk for m in found_monitors} != set(
            component.monitors.values_list("pk", flat=True)
        ):
            component.monitors.set(found_monitors)
            changed["monitors"] = sorted(m.pk for m in found_monitors)
        if services is not None and {s.pk for s in found_services} != set(
            component.services.values_list("pk", flat=True)
        ):
            component.services.set(found_services)
            changed["services"] = sorted(s.pk for s in found_services)
    if not changed:
        return component
    _check_component(component)
    component.updated_at = timezone.now()
    component.save()
    record(actor=actor, verb="status_component.updated", target=component, data={"changed": changed})
    transaction.on_commit(lambda: forget(component.page_id))
    return component


@transaction.atomic
def component_delete(*, actor: Actor, component: StatusComponent) -> None:
    actor.require(Capability.MONITOR_MANAGE)
    record(actor=actor, verb="status_component.deleted", target=component, data={"name": component.name})
    page_id = component.page_id
    component.delete()
    transaction.on_commit(lambda: forget(page_id))
