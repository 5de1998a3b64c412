"""What a notification says: the incident, a link to it, and (for people) a one-click acknowledge link.

Acknowledge links are signed (Django's TimestampSigner under SECRET_KEY, its own salt) and expire
after ``ACK_LINK_MAX_AGE``. The link opens a confirmation page; only its POST acknowledges, so a mail
scanner that follows links acknowledges nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.urls import reverse

ACK_SALT = "notifications.ack-link"


@dataclass(frozen=True)
class AckClaim:
    incident_id: int
    user_id: int | None  # None: a link sent to a channel; the person clicking must sign in
    notification_id: int


def ack_token(*, incident_id: int, user_id: int | None, notification_id: int) -> str:
    return signing.dumps({"i": incident_id, "u": user_id, "n": notification_id}, salt=ACK_SALT, compress=True)


def read_ack_token(token: str) -> AckClaim | None:
    """The claim of a valid, unexpired link, or None (forged, altered and expired look the same)."""
    try:
        data = signing.loads(token, salt=ACK_SALT, max_age=settings.ACK_LINK_MAX_AGE)
    except signing.BadSignature:
        return None
    try:
        return AckClaim(int(data["i"]), int(data["u"]) if data.get("u") is not None else None, int(data["n"]))
    except (KeyError, TypeError, ValueError):
        return None


def absolute(path: str) -> str:
    return settings.SITE_URL + path


@dataclass(frozen=True)
class IncidentMessage:
    incident_id: int
    title: str
    status: str
    severity: str
    service: str
    team: str
    organization: str
    url: str
    ack_url: str
    step: int
    cycle: int
    notification_id: int
    delivery_key: str

    @property
    def subject(self) -> str:
        return f"[{self.severity.upper()}] #{self.incident_id} {self.title}"

    @property
    def summary(self) -> str:
        where = f" on {self.service}" if self.service else ""
        return f"{self.severity.upper()} incident #{self.incident_id}{where}: {self.title} ({self.status})"

    def text(self) -> str:
        lines = [self.summary, "", f"Open: {self.url}"]
        if self.ack_url:
            lines.append(f"Acknowledge: {self.ack_url} (link valid for a limited time)")
        lines += ["", f"{self.organization} · escalation step {self.step + 1}, round {self.cycle + 1}"]
        return "\n".join(lines)

    def short_text(self) -> str:
        """For SMS: one segment if it can."""
        return f"{self.summary[:120]} {self.url}"

    def spoken_text(self) -> str:
        return (
            f"This is OpsPlatform for {self.organization}. Severity {self.severity[-1:]} incident "
            f"{self.incident_id}: {self.title}. Please acknowledge it in OpsPlatform."
        )


def build_message(
    notification, incident, *, with_ack_link: bool, shared_room: bool = False
) -> IncidentMessage:
    """``shared_room``: the message is posted where others read it too (a Slack mention in the
    organization's channel), so its acknowledge link names nobody and whoever follows it signs in."""
    ack_url = ""
    if with_ack_link:
        token = ack_token(
            incident_id=incident.pk,
            user_id=None if shared_room else notification.recipient_id,
            notification_id=notification.pk,
        )
        ack_url = absolute(reverse("notifications:ack", args=[token]))
    return IncidentMessage(
        incident_id=incident.pk,
        title=incident.title,
        status=incident.get_status_display(),
        severity=incident.severity,
        service=incident.service.name if incident.service_id and incident.service else "",
        team=incident.team.name if incident.team_id and incident.team else "",
        organization=incident.organization.name,
        url=absolute(reverse("incidents:detail", args=[incident.pk])),
        ack_url=ack_url,
        step=notification.step,
        cycle=notification.cycle,
        notification_id=notification.pk,
        delivery_key=notification.idempotency_key,
    )
