"""Notification data past retention (kind ``notification_attempts`` in ``audit.retention.registry``)."""

from notifications.eventlogs import NOTIFICATION_ATTEMPTS


def attempts_past(organization_id, cutoff):
    return NOTIFICATION_ATTEMPTS.expired_queryset(organization_id, cutoff)
