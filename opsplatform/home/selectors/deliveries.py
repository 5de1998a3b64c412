"""The "Delivery health" card: channels failing right now and recent dead letters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count

from notifications.models import Channel, Notification, NotificationStatus

LIMIT = 5
WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class DeliveryHealth:
    failing_channels: list[Channel]
    failing_total: int
    dead_letters: list[Notification]
    dead_total: int
    counts: dict[str, int]  # notifications of the window by status
    days: int

    @property
    def healthy(self) -> bool:
        return not self.failing_total and not self.dead_total

    @property
    def delivered(self) -> int:
        return self.counts.get(NotificationStatus.SENT, 0)

    @property
    def retrying(self) -> int:
        return self.counts.get(NotificationStatus.FAILED, 0)


def delivery_health(organization, now: datetime, *, limit: int = LIMIT) -> DeliveryHealth:
    since = now - WINDOW
    failing = Channel.objects.for_organization(organization).filter(consecutive_failures__gt=0)
    dead = Notification.objects.for_organization(organization).filter(
        status=NotificationStatus.DEAD, created_at__gte=since
    )
    counts = dict(
        Notification.objects.for_organization(organization)
        .filter(created_at__gte=since)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    return DeliveryHealth(
        failing_channels=list(failing.order_by("-consecutive_failures", "name")[:limit]),
        failing_total=failing.count(),
        dead_letters=list(dead.select_related("incident").order_by("-updated_at", "-id")[:limit]),
        dead_total=counts.get(NotificationStatus.DEAD, 0),
        counts=counts,
        days=WINDOW.days,
    )
