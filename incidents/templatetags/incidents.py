from django import template
from django.utils import timezone
from django.utils.safestring import mark_safe

from incidents.sla.policy import next_due, sla_state
from opsplatform.markdown import render_markdown

register = template.Library()

VERB_TEXT = {
    "incident.triggered": "triggered the incident",
    "incident.acknowledged": "acknowledged",
    "incident.resolved": "resolved",
    "incident.snoozed": "snoozed",
    "incident.unsnoozed": "snooze ended; back to triggered",
    "incident.reopened": "reopened",
    "incident.escalated": "escalated now",
    "incident.updated": "changed",
    "incident.reassigned": "reassigned",
    "incident.responders_added": "added responders",
    "incident.note_added": "added a note",
    "incident.merged": "merged this incident into another",
    "incident.merged_in": "merged another incident into this one",
    "incident.sla_ack_warning": "SLA warning: acknowledgement due soon",
    "incident.sla_ack_breached": "SLA breached: not acknowledged in time",
    "incident.sla_resolve_warning": "SLA warning: resolution due soon",
    "incident.sla_resolve_breached": "SLA breached: not resolved in time",
}


@register.filter
def verb_text(verb: str) -> str:
    return VERB_TEXT.get(verb, verb.replace("_", " ").replace(".", ": "))


@register.filter
def markdown(text: str):
    return mark_safe(render_markdown(text))  # noqa: S308 - sanitized by nh3 in render_markdown


@register.simple_tag
def sla_badge(incident):
    return sla_state(incident, timezone.now())


@register.simple_tag
def sla_deadline(incident):
    return next_due(incident)


@register.filter
def duration(value):
    """A timedelta as '1h 05m' / '12m 30s' (None → '—')."""
    if value is None:
        return "—"
    seconds = int(value.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours >= 48:
        return f"{hours // 24}d {hours % 24}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s"
