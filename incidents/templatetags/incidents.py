from django import template
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from incidents import list_rows
from incidents.sla.policy import next_due, sla_state
from opsplatform.core.markdown import render_markdown

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
    "incident.runbook_step_checked": "ticked a runbook step",
    "incident.sla_ack_warning": "SLA warning: acknowledgement due soon",
    "incident.sla_ack_breached": "SLA breached: not acknowledged in time",
    "incident.sla_resolve_warning": "SLA warning: resolution due soon",
    "incident.sla_resolve_breached": "SLA breached: not resolved in time",
    "escalation.step_executed": "ran an escalation step",
    "escalation.no_policy": "found no escalation policy: nobody paged",
    "escalation.exhausted": "escalation policy finished: nobody acknowledged",
    "escalation.step_failed": "escalation step failed: nobody paged by it yet",
    "escalation.step_skipped": "gave up on a failing escalation step; moved on to the next",
    "escalation.parked": "escalation stopped: its step keeps failing (escalate now to retry)",
    "notification.sent": "delivered a notification",
    "notification.failed": "notification attempt failed; will retry",
    "notification.dead_lettered": "gave up on a notification (dead letter)",
    "notification.cancelled": "dropped a notification no longer needed",
    "notification.resend_requested": "resent a dead-lettered notification",
}


@register.filter
def verb_text(verb: str) -> str:
    return VERB_TEXT.get(verb, verb.replace("_", " ").replace(".", ": "))


@register.filter
def as_datetime(value):
    """An ISO 8601 string from a ledger entry as a datetime, so ``|date`` shows it in the reader's zone."""
    return parse_datetime(value) if isinstance(value, str) else value


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


@register.simple_tag
def select_options(bound_field, empty_label=None):
    """A select's <option>s in one pass: Django's per-option widget templates cost more than the
    rest of the incident list put together."""
    value = bound_field.value()
    selected = {str(v) for v in value} if isinstance(value, list | tuple) else {str(value)}
    options = [] if empty_label is None else [("", empty_label)]
    options += [
        (str(getattr(key, "value", key)), label) for key, label in bound_field.field.choices if key != ""
    ]
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        ((key, mark_safe(" selected") if key in selected else "", label) for key, label in options),
    )


@register.simple_tag
def incident_rows(incidents, selectable, viewer=None):
    return list_rows.incident_rows(incidents, selectable=bool(selectable), viewer=viewer)
