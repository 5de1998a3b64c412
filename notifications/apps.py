from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """On-call and notifications: who gets paged (schedules, escalation policies, the escalation tick)
    and how they are reached (contact methods, channels, the outbox, senders)."""

    name = "notifications"
    verbose_name = "On-call and notifications"
