"""Scheduled maintenance starts and ends by itself: the maintenance tick posts the update that says
so (in progress at ``scheduled_for``, completed at ``scheduled_until``), and subscribers get it like
any other update.

The timer is the notice's ``transition_due_at`` column (never a Celery ETA), so a restart loses
nothing. Each notice is taken with ``SELECT … FOR UPDATE SKIP LOCKED`` in its own transaction and its
state checked again under the lock: a second or concurrent tick finds the row locked, or the step
already done and the due time moved on. The unique (notice, transition) index is the last word: a
window starts once and ends once.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from monitoring.statuspages.models import NoticeKind, NoticeStatus, StatusNotice, Transition
from monitoring.statuspages.services.notices import add_update, next_transition_at
from opsplatform.core.actors import Actor

log = logging.getLogger(__name__)

JOB = "status_page.maintenance"
BATCH = 100
# A notice whose step raised is tried again after this, not on every tick.
RETRY_AFTER = timedelta(minutes=1)

START_TEXT = "The scheduled maintenance is now in progress."
END_TEXT = "The scheduled maintenance has been completed."


@transaction.atomic
def maintenance_transition(*, notice_id: int, now) -> str | None:
    """Take one due notice's next step; returns the transition posted, or None (not due any more,
    or another tick holds it)."""
    notice = (
        StatusNotice.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("organization", "page")
        .filter(pk=notice_id, transition_due_at__lte=now)
        .first()
    )
    if notice is None:
        return None
    if notice.kind != NoticeKind.MAINTENANCE or not notice.is_open:
        notice.transition_due_at = None
        notice.save(update_fields=["transition_due_at"])
        return None
    actor = Actor.system(JOB, organization=notice.organization)
    # A window that ended before any tick saw it start (the platform was down) is reported as
    # completed only: "now in progress" would no longer be true.
    if now >= notice.scheduled_until:
        transition, status, body = Transition.END, NoticeStatus.COMPLETED, END_TEXT
        verb = "status_notice.maintenance_completed"
    elif notice.status == NoticeStatus.SCHEDULED and now >= notice.scheduled_for:
        transition, status, body = Transition.START, NoticeStatus.IN_PROGRESS, START_TEXT
        verb = "status_notice.maintenance_started"
    else:  # not due after all (its times are later than the column said): just reset the timer
        notice.transition_due_at = next_transition_at(notice)
        notice.save(update_fields=["transition_due_at"])
        return None
    notice.status = status
    notice.updated_at = now
    if status == NoticeStatus.COMPLETED:
        notice.resolved_at = now
    notice.transition_due_at = next_transition_at(notice)
    notice.save(update_fields=["status", "updated_at", "resolved_at", "transition_due_at"])
    add_update(
        actor=actor,
        notice=notice,
        status=status,
        body=body,
        notify=True,
        now=now,
        transition=transition,
        verb=verb,
    )
    return transition


def run_maintenance_tick(*, now=None, batch: int = BATCH) -> int:
    """Start and complete the maintenance notices that are due; returns how many steps were taken."""
    now = now or timezone.now()
    due = list(
        StatusNotice.objects.filter(transition_due_at__lte=now)
        .order_by("transition_due_at", "pk")
        .values_list("pk", flat=True)[:batch]
    )
    taken = 0
    for notice_id in due:
        try:
            if maintenance_transition(notice_id=notice_id, now=now):
                taken += 1
        except Exception:  # one notice's failure must not hold back the others (inv. 13)
            log.exception("status notice %s: the maintenance step failed", notice_id)
            StatusNotice.objects.filter(pk=notice_id, transition_due_at__lte=now).update(
                transition_due_at=now + RETRY_AFTER
            )
    return taken
