"""On-call and notifications: resending many dead letters at once (the deliveries page's bulk action).

Each row goes through :func:`notification_resend` in its own transaction — one lock, one status check
and one ledger entry per row — so a row resent twice (a double submit, two operators) is refused the
second time instead of being queued again, and one refused row never undoes the others.
"""

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError

from notifications.models import Notification, NotificationStatus
from notifications.services.outbox import notification_resend
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Capability

MAX_BULK = 200


@dataclass
class BulkResend:
    resent: list[Notification] = field(default_factory=list)
    refused: list[tuple[Notification, str]] = field(default_factory=list)


def notifications_resend_dead(*, actor: Actor, notifications) -> BulkResend:
    """Resend the dead letters among ``notifications`` (the organization's rows, read by the caller);
    the others are refused with the reason. Refuses the whole request when the actor may resend none
    of them."""
    rows = list({row.pk: row for row in notifications}.values())
    if len(rows) > MAX_BULK:
        raise ValidationError({"notifications": f"At most {MAX_BULK} at once."})
    allowed = [row for row in rows if actor.can(Capability.INCIDENT_MANAGE, row.incident)]
    if rows and not allowed:
        raise PermissionDenied(f"Missing capability {Capability.INCIDENT_MANAGE}.")
    outcome = BulkResend()
    for row in rows:
        if row not in allowed:
            outcome.refused.append((row, "you may not manage its incident"))
        elif row.status != NotificationStatus.DEAD:
            outcome.refused.append((row, f"{row.get_status_display().lower()}, not a dead letter"))
        else:
            try:
                outcome.resent.append(notification_resend(actor=actor, notification=row))
            except ValidationError as exc:  # resent by someone else since the page was read
                outcome.refused.append((row, exc.messages[0].rstrip(".").lower()))
    return outcome
