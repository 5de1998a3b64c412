"""On-call and notifications: what a notification says. The incident, a link to it, and (for people
and the rooms that may carry one) a one-click acknowledge link (``ack_links``). Every sender renders
this one message in its medium's shape.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse

from notifications.ack_links import ack_token
from notifications.message_links import MessageLink, links_for


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
    links: tuple[MessageLink, ...] = ()  # contributed by higher layers (the top runbook)

    @property
    def subject(self) -> str:
        # A header: titles may hold newlines (multi-line alert summaries), which would end the header
        # (the mailer refuses them; a laxer one would let a title add its own headers). Every run of
        # whitespace, line breaks and Unicode separators included, becomes one space.
        return f"[{self.severity.upper()}] #{self.incident_id} {' '.join(self.title.split())}"

    @property
    def summary(self) -> str:
        where = f" on {self.service}" if self.service else ""
        return f"{self.severity.upper()} incident #{self.incident_id}{where}: {self.title} ({self.status})"

    def text(self) -> str:
        lines = [self.summary, "", f"Open: {self.url}"]
        if self.ack_url:
            lines.append(f"Acknowledge: {self.ack_url} (link valid for a limited time)")
        lines += [f"{link.label}: {' '.join(link.title.split())} {link.url}" for link in self.links]
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
        # A shared room gets what every member may read; a person what they may read.
        links=links_for(incident, recipient=None if shared_room else notification.recipient),
    )
