"""Sending the workflows outbox (``Notice``): claim due rows with a lease, send after commit through
the notification senders, record the outcome (sent; or retried with backoff; dead after the last try).

Each row names one contact method of its person (or their account address): the sender comes from
``notifications.delivery.send.person_sender``, the one pages use, so Slack mentions go through the
organization's Slack channel, texts through its Twilio account, and the deployment's SMTP settings
and error handling are the ones every page uses. What the row says is a generic
``notifications.message.Message``.
"""

import random
from datetime import timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from notifications.delivery.send import Carriers, person_sender, prepare_with
from notifications.incident_message import absolute
from notifications.message import Link, Message
from notifications.models import Medium
from notifications.senders import CannotSend, Outgoing, send
from opsplatform.core.durable import DATABASE_UNREACHABLE, while_leased
from workflows.automation.notices import automation_message
from workflows.links import approval_token
from workflows.models import Notice, NoticeKind, NoticeStatus

MAX_ATTEMPTS = 5
LEASE = timedelta(minutes=2)
BATCH = 100

_APPROVAL_LEAD = {
    NoticeKind.APPROVAL_REQUESTED: "Your approval is requested",
    NoticeKind.APPROVAL_REMINDER: "Reminder: your approval is still requested",
    NoticeKind.APPROVAL_ESCALATED: "An approval was escalated to you",
}


def build(notice: Notice) -> Message:
    if notice.execution_id:
        return automation_message(notice)
    organization = notice.organization.name
    if notice.task_id:
        task = notice.task
        title = " ".join(task.title.split())
        return Message(
            kind=f"workflow.{notice.kind}",
            subject=f"Task overdue: {title}",
            lines=(f"Your task is overdue: {title}", f"Due {task.due_at:%Y-%m-%d %H:%M} UTC."),
            links=(Link("Open", absolute(reverse("workflows:tasks"))),),
            delivery_key=notice.idempotency_key,
            organization=organization,
            data={"task": {"id": task.pk, "title": task.title, "due_at": task.due_at.isoformat()}},
        )
    approval = notice.approval
    run = approval.run
    links = [Link("Open", absolute(reverse("workflows:run", args=[run.pk])))]
    for verdict in ("approve", "reject"):
        token = approval_token(
            notice_id=notice.pk, approval_id=approval.pk, user_id=notice.recipient_id, verdict=verdict
        )
        links.append(Link(verdict.title(), absolute(reverse("workflows:approval-link", args=[token]))))
    title = " ".join(run.title.split())
    return Message(
        kind=f"workflow.{notice.kind}",
        subject=f"[Approval] #{run.pk} {title}",
        lines=(
            f"{_APPROVAL_LEAD.get(notice.kind, 'Approval')}: {title}",
            f"{approval.received} of {approval.required} approvals so far.",
        ),
        links=tuple(links),
        note="(Each link asks you to sign in and confirm; it works once and expires.)",
        delivery_key=notice.idempotency_key,
        organization=organization,
        data={
            "run": {"id": run.pk, "title": run.title, "state": run.state},
            "approval": {"id": approval.pk, "received": approval.received, "required": approval.required},
        },
    )


def _sender_for(notice: Notice, outgoing: Outgoing, carriers: Carriers):
    if notice.contact_method_id is None and notice.medium != Medium.EMAIL:
        raise CannotSend("the contact method of this notice was removed")
    return person_sender(notice.organization_id, notice.contact_method, notice.recipient, outgoing, carriers)


def _claim(now, limit) -> list[tuple[int, object]]:
    """Due rows as (id, lease end): the lease end is the row's fencing token (see ``_still_ours``)."""
    lease_end = now + LEASE  # another tick takes a row over only if this one died
    rows = []
    try:
        with transaction.atomic():
            rows = list(
                Notice.objects.select_for_update(skip_locked=True)
                .filter(status__in=[NoticeStatus.PENDING, NoticeStatus.FAILED], next_attempt_at__lte=now)
                .order_by("next_attempt_at")[:limit]
            )
            for row in rows:
                row.attempts += 1
                row.next_attempt_at = lease_end
                row.save(update_fields=["attempts", "next_attempt_at"])
    except DATABASE_UNREACHABLE:
        if not rows:
            raise  # nothing was taken
        # The commit may have happened, its answer lost (the database went down between the two):
        # the rows would wait for their lease. Once the database answers, those carrying this
        # claim's lease end are this tick's after all.
        ids, ours = [row.pk for row in rows], []
        while_leased(
            lambda: ours.extend(
                Notice.objects.filter(pk__in=ids, next_attempt_at=lease_end)
                .order_by("next_attempt_at", "pk")
                .values_list("pk", flat=True)
            ),
            lease_end,
            "reading back claimed notices",
        )
        return [(pk, lease_end) for pk in ours]
    return [(row.pk, lease_end) for row in rows]


def _still_ours(notice_id: int, lease_end):
    """Renew the lease of one claimed row just before sending it, only if it is still ours.

    Rows are sent one after another, so the last of a batch may be reached after the lease taken at
    claim time ran out (slow peers, a loaded host) and another tick took the row over. The lease end
    written at claim time is the fencing token: a takeover rewrites it, and this update then matches
    nothing, so the row is not sent a second time. Returns the renewed lease end (the row's token
    from now on), or None when the row is no longer this tick's.
    """
    renewed = timezone.now() + LEASE
    ours = Notice.objects.filter(
        pk=notice_id,
        status__in=[NoticeStatus.PENDING, NoticeStatus.FAILED],
        next_attempt_at=lease_end,
    ).update(next_attempt_at=renewed)
    return renewed if ours else None


def run_notice_tick(now=None, limit: int = BATCH) -> dict:
    now = now or timezone.now()
    return send_claimed(_claim(now, limit))


def send_claimed(claimed: list[tuple[int, object]]) -> dict:
    counts = {"sent": 0, "failed": 0}
    carriers = Carriers()
    for notice_id, claimed_until in claimed:
        lease_end = _still_ours(notice_id, claimed_until)
        if lease_end is None:
            continue
        notice = Notice.objects.select_related(
            "organization",
            "recipient",
            "contact_method",
            "approval__run",
            "task",
            "execution__rule",
            "execution__incident",
        ).get(pk=notice_id)
        outgoing = Outgoing(notification_id=notice.pk, attempt=notice.attempts, medium=notice.medium)
        prepare_with(
            outgoing,
            lambda n=notice, o=outgoing: _sender_for(n, o, carriers),
            lambda _sender, n=notice: build(n),
        )
        result = send(outgoing)
        # The message went (or was tried): an outcome lost to a database outage would leave the row
        # to be taken over after its lease and sent again, so the write waits the outage out.
        when = timezone.now()
        while_leased(
            lambda n=notice, r=result, w=when: _record(n, r, w), lease_end, f"storing notice {notice.pk}"
        )
        counts["sent" if result.ok else "failed"] += 1
    return counts


def _record(notice: Notice, result, now) -> None:
    if result.ok:
        notice.status, notice.sent_at, notice.next_attempt_at, notice.last_error = (
            NoticeStatus.SENT,
            now,
            None,
            "",
        )
    elif result.retryable and notice.attempts < MAX_ATTEMPTS:
        backoff = min(3600, 30 * 2 ** (notice.attempts - 1))
        notice.status = NoticeStatus.FAILED
        notice.next_attempt_at = now + timedelta(seconds=backoff * random.uniform(0.8, 1.2))
        notice.last_error = result.error[:300]
    else:
        notice.status, notice.next_attempt_at, notice.last_error = NoticeStatus.DEAD, None, result.error[:300]
    notice.save(update_fields=["status", "sent_at", "next_attempt_at", "last_error"])
