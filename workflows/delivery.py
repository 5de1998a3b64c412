"""Sending the workflows outbox (``Notice``): claim due rows with a lease, send after commit through
the notification senders, record the outcome (sent; or retried with backoff; dead after the last try).

E-mail goes to the person's account address through ``notifications.senders.EmailSender``, so the
deployment's SMTP settings and error handling are the ones every incident page uses.
"""

import random
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from notifications.incident_message import absolute
from notifications.senders import EmailSender, Outgoing, send
from workflows.automation.notices import automation_message
from workflows.links import approval_token
from workflows.models import Notice, NoticeKind, NoticeStatus

MAX_ATTEMPTS = 5
LEASE = timedelta(minutes=2)
BATCH = 100


@dataclass(frozen=True)
class NoticeMessage:
    """What one notice says, in the shape the senders read (subject, text, delivery key)."""

    subject: str
    body: str
    delivery_key: str

    def text(self) -> str:
        return self.body


def build(notice: Notice) -> NoticeMessage:
    if notice.execution_id:
        return automation_message(notice)
    if notice.task_id:
        task = notice.task
        url = absolute(reverse("workflows:tasks"))
        body = f"Your task is overdue: {task.title}\n\nDue {task.due_at:%Y-%m-%d %H:%M} UTC.\nOpen: {url}"
        return NoticeMessage(f"Task overdue: {' '.join(task.title.split())}", body, notice.idempotency_key)
    approval = notice.approval
    run = approval.run
    url = absolute(reverse("workflows:run", args=[run.pk]))
    links = {
        verdict: absolute(
            reverse(
                "workflows:approval-link",
                args=[
                    approval_token(
                        notice_id=notice.pk,
                        approval_id=approval.pk,
                        user_id=notice.recipient_id,
                        verdict=verdict,
                    )
                ],
            )
        )
        for verdict in ("approve", "reject")
    }
    lead = {
        NoticeKind.APPROVAL_REQUESTED: "Your approval is requested",
        NoticeKind.APPROVAL_REMINDER: "Reminder: your approval is still requested",
        NoticeKind.APPROVAL_ESCALATED: "An approval was escalated to you",
    }.get(notice.kind, "Approval")
    title = " ".join(run.title.split())
    body = "\n".join(
        [
            f"{lead}: {title}",
            f"{approval.received} of {approval.required} approvals so far.",
            "",
            f"Open: {url}",
            f"Approve: {links['approve']}",
            f"Reject: {links['reject']}",
            "(Each link asks you to sign in and confirm; it works once and expires.)",
        ]
    )
    return NoticeMessage(f"[Approval] #{run.pk} {title}", body, notice.idempotency_key)


def _claim(now, limit) -> list[int]:
    with transaction.atomic():
        rows = list(
            Notice.objects.select_for_update(skip_locked=True)
            .filter(status__in=[NoticeStatus.PENDING, NoticeStatus.FAILED], next_attempt_at__lte=now)
            .order_by("next_attempt_at")[:limit]
        )
        for row in rows:
            row.attempts += 1
            row.next_attempt_at = now + LEASE  # another tick takes it over only if this one died
            row.save(update_fields=["attempts", "next_attempt_at"])
    return [row.pk for row in rows]


def run_notice_tick(now=None, limit: int = BATCH) -> dict:
    now = now or timezone.now()
    counts = {"sent": 0, "failed": 0}
    for notice_id in _claim(now, limit):
        notice = Notice.objects.select_related(
            "recipient", "approval__run", "task", "execution__rule", "execution__incident"
        ).get(pk=notice_id)
        outgoing = Outgoing(notification_id=notice.pk, attempt=notice.attempts, medium="email")
        if notice.recipient.email:
            EmailSender([notice.recipient.email]).prepare(outgoing, build(notice))
        else:
            outgoing.error = "the person has no e-mail address"
        result = send(outgoing)
        _record(notice, result, timezone.now())
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
