"""The notifications app's event log: delivery attempts (audit/eventlog/)."""

from audit.eventlog import EventLog
from opsplatform.core.prepared import insert_rows


def _insert(rows) -> None:
    # A delivery tick's outcomes arrive a dozen at a time: one INSERT for them, built from the rows'
    # own values (``bulk_create`` cost about as much to build as the outcomes' other writes). A retried
    # attempt is stored once (the unique number of its notification).
    if rows:
        insert_rows(type(rows[0]), rows, "ON CONFLICT DO NOTHING")


NOTIFICATION_ATTEMPTS = EventLog(
    name="notification_attempts",
    model="notifications.NotificationAttempt",
    time_field="started_at",
    fields=(
        "organization_id",
        "notification_id",
        "number",
        "started_at",
        "duration_ms",
        "outcome",
        "status_code",
        "error",
    ),
    unique=("notification_id", "number"),
    pg_insert=_insert,
)


def attach_attempts(notifications) -> list:
    """Give each notification its ``attempt_entries`` (oldest first), one read for all of them."""
    notifications = list(notifications)
    by_notification: dict[int, list] = {n.pk: [] for n in notifications}
    if by_notification:
        for attempt in NOTIFICATION_ATTEMPTS.in_order(
            {"notification_id__in": list(by_notification)}, order=("notification_id", "number")
        ):
            by_notification[attempt.notification_id].append(attempt)
    for notification in notifications:
        notification.__dict__["attempt_entries"] = by_notification[notification.pk]
    return notifications
