"""Public notices: open an incident notice or schedule maintenance, and post updates to them.

Posting is an operator's act (``incident.manage``): it is the public side of incident response. Each
update is queued for the page's confirmed subscribers in the same transaction; the delivery tick
sends after commit. A maintenance notice also carries the time the maintenance tick must next act on
it (``transition_due_at``: its start, then its end; see ``services/transitions.py``).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.services import record
from incidents.models import Incident, MaintenanceWindow
from monitoring.statuspages.models import (
    CLOSED_STATUSES,
    INCIDENT_STATUSES,
    MAINTENANCE_STATUSES,
    ComponentStatus,
    Impact,
    NoticeKind,
    NoticeStatus,
    StatusComponent,
    StatusNotice,
    StatusNoticeUpdate,
    StatusPage,
)
from monitoring.statuspages.selectors import component_states, forget
from monitoring.statuspages.services.outbox import enqueue_update
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Capability

MAX_BODY = 5000


def _statuses(kind: str):
    return INCIDENT_STATUSES if kind == NoticeKind.INCIDENT else MAINTENANCE_STATUSES


def _check_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": "Say what is happening: subscribers receive this text."})
    if len(body) > MAX_BODY:
        raise ValidationError({"body": f"At most {MAX_BODY} characters."})
    return body


def _window_times(window: MaintenanceWindow | None, starts, ends):
    """A one-off maintenance window already says when: a notice takes its times unless given its own."""
    if window is not None and window.recurrence == "once" and window.starts_at:
        return starts or window.starts_at, ends or window.ends_at
    return starts, ends


def next_transition_at(notice: StatusNotice):
    """When the maintenance tick must next act on ``notice``: an open maintenance starts at its
    ``scheduled_for`` (while still scheduled) and completes at its ``scheduled_until``."""
    if notice.kind != NoticeKind.MAINTENANCE or notice.status in CLOSED_STATUSES:
        return None
    return notice.scheduled_for if notice.status == NoticeStatus.SCHEDULED else notice.scheduled_until


def add_update(
    *,
    actor: Actor,
    notice: StatusNotice,
    status: str,
    body: str,
    notify: bool,
    now,
    transition: str = "",
    verb: str = "status_notice.updated",
) -> StatusNoticeUpdate:
    """Store one update of ``notice`` (already changed and saved by the caller, in its transaction),
    with the components' states it leaves behind, and queue it for the subscribers."""
    update = StatusNoticeUpdate.objects.create(
        organization=notice.organization,
        notice=notice,
        status=status,
        body=body,
        notify=notify,
        author=actor.user,
        created_at=now,
        transition=transition,
        component_states=component_states(notice.page, now=now),
    )
    queued = enqueue_update(update)
    data = {"update": update.pk, "status": status, "body": body, "queued": queued}
    if transition:
        data["transition"] = transition
    record(actor=actor, verb=verb, target=notice, data=data)
    transaction.on_commit(lambda: forget(notice.page_id))
    return update


@transaction.atomic
def notice_open(
    *,
    actor: Actor,
    page: StatusPage,
    title: str,
    body: str,
    kind: str = NoticeKind.INCIDENT,
    status: str | None = None,
    impact: str = Impact.MINOR,
    component_status: str = ComponentStatus.DEGRADED,
    components=(),
    incident: Incident | None = None,
    maintenance_window: MaintenanceWindow | None = None,
    scheduled_for=None,
    scheduled_until=None,
    notify: bool = True,
) -> StatusNotice:
    actor.require(Capability.INCIDENT_MANAGE)
    page = StatusPage.objects.select_for_update().get(pk=page.pk, organization=actor.organization)
    errors = {}
    if kind not in NoticeKind.values:
        raise ValidationError({"kind": "incident or maintenance."})
    status = status or (NoticeStatus.INVESTIGATING if kind == NoticeKind.INCIDENT else NoticeStatus.SCHEDULED)
    if status not in _statuses(kind):
        errors["status"] = f"One of {', '.join(_statuses(kind))}."
    if impact not in Impact.values:
        errors["impact"] = f"One of {', '.join(Impact.values)}."
    if component_status not in ComponentStatus.values or component_status == ComponentStatus.OPERATIONAL:
        errors["component_status"] = (
            "degraded_performance, partial_outage, major_outage or under_maintenance."
        )
    title = (title or "").strip()
    if not title or len(title) > 200:
        errors["title"] = "A public title of at most 200 characters."
    component_ids = {getattr(c, "pk", c) for c in components or ()}
    found = list(StatusComponent.objects.filter(page=page, pk__in=component_ids))
    if len(found) != len(component_ids):
        errors["components"] = "Components of this page only."
    if incident is not None and incident.organization_id != page.organization_id:
        errors["incident"] = "Not an incident of this organization."
    if maintenance_window is not None and maintenance_window.organization_id != page.organization_id:
        errors["maintenance_window"] = "Not a maintenance window of this organization."
    if kind == NoticeKind.MAINTENANCE:
        scheduled_for, scheduled_until = _window_times(maintenance_window, scheduled_for, scheduled_until)
        if scheduled_for is None or scheduled_until is None:
            errors["scheduled_for"] = "Maintenance needs a start and an end."
        elif scheduled_until <= scheduled_for:
            errors["scheduled_until"] = "The end must come after the start."
    if errors:
        raise ValidationError(errors)
    body = _check_body(body)
    now = timezone.now()
    notice = StatusNotice(
        organization=page.organization,
        page=page,
        kind=kind,
        title=title,
        status=status,
        impact=impact,
        component_status=ComponentStatus.MAINTENANCE if kind == NoticeKind.MAINTENANCE else component_status,
        incident=incident,
        maintenance_window=maintenance_window,
        scheduled_for=scheduled_for if kind == NoticeKind.MAINTENANCE else None,
        scheduled_until=scheduled_until if kind == NoticeKind.MAINTENANCE else None,
        created_by=actor.user,
        created_at=now,
        updated_at=now,
        resolved_at=now if status in CLOSED_STATUSES else None,
    )
    notice.transition_due_at = next_transition_at(notice)
    notice.save()
    notice.components.set(found)
    record(
        actor=actor,
        verb="status_notice.opened",
        target=notice,
        data={
            "page": page.pk,
            "kind": kind,
            "title": title,
            "components": sorted(c.pk for c in found),
            "incident": incident.pk if incident else None,
        },
    )
    add_update(actor=actor, notice=notice, status=status, body=body, notify=notify, now=now)
    return notice


def maintenance_schedule(
    *, actor: Actor, page: StatusPage, title: str, body: str, scheduled_for, scheduled_until, **values
) -> StatusNotice:
    return notice_open(
        actor=actor,
        page=page,
        title=title,
        body=body,
        kind=NoticeKind.MAINTENANCE,
        scheduled_for=scheduled_for,
        scheduled_until=scheduled_until,
        **values,
    )


@transaction.atomic
def notice_update(
    *,
    actor: Actor,
    notice: StatusNotice,
    status: str,
    body: str,
    notify: bool = True,
    component_status: str | None = None,
) -> StatusNoticeUpdate:
    actor.require(Capability.INCIDENT_MANAGE)
    notice = StatusNotice.objects.select_for_update().get(pk=notice.pk, organization=actor.organization)
    if not notice.is_open:
        raise ValidationError({"status": "This notice is closed; open a new one."})
    if status not in _statuses(notice.kind):
        raise ValidationError({"status": f"One of {', '.join(_statuses(notice.kind))}."})
    if component_status is not None and notice.kind == NoticeKind.INCIDENT:
        if component_status not in ComponentStatus.values or component_status == ComponentStatus.OPERATIONAL:
            raise ValidationError(
                {"component_status": "degraded_performance, partial_outage or major_outage."}
            )
        notice.component_status = component_status
    body = _check_body(body)
    now = timezone.now()
    notice.status = status
    notice.updated_at = now
    if status in CLOSED_STATUSES:
        notice.resolved_at = now
    # An operator who starts or completes the maintenance by hand takes that step off the tick.
    notice.transition_due_at = next_transition_at(notice)
    notice.save(
        update_fields=["status", "updated_at", "resolved_at", "component_status", "transition_due_at"]
    )
    return add_update(actor=actor, notice=notice, status=status, body=body, notify=notify, now=now)
