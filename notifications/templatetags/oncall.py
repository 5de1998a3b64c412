"""On-call and notifications template tags (`{% load oncall %}`): helpers of the on-call pages (the
schedule timeline, a person's colour on it), and the deliveries panel the incident page includes."""

from django import template

from notifications.eventlogs import attach_attempts
from notifications.models import NotificationStatus
from notifications.selectors import incident_deliveries
from opsplatform.core.capabilities import Capability

register = template.Library()

DAY_NAMES = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
COLOURS = 8  # .tl-seg.c0 … .c7 in static/css/notifications.css


@register.filter
def person_colour(user_or_id) -> int:
    """A person's colour on schedule timelines: the same on every row, window and page."""
    pk = getattr(user_or_id, "pk", user_or_id)
    return int(pk or 0) % COLOURS


@register.inclusion_tag("notifications/_timeline.html", takes_context=True)
def schedule_timeline(context, timeline, selectable=False):
    """The schedule timeline (``notifications.views.timeline.build``): a row per layer above the
    final row, a scale, day lines and the "now" line. ``selectable``: ranges picked on the final row
    open the new-override dialog (static/js/timeline.js)."""
    return {"t": timeline, "selectable": selectable, "request": context.get("request")}


@register.filter
def weekdays(days) -> str:
    """[0, 1, 2, 3, 4] → "Mon-Fri"; [0, 2] → "Mon, Wed"."""
    days = sorted(set(days or []))
    if not days:
        return ""
    if len(days) == 7:
        return "every day"
    if len(days) > 2 and days == list(range(days[0], days[-1] + 1)):
        return f"{DAY_NAMES[days[0]]}-{DAY_NAMES[days[-1]]}"
    return ", ".join(DAY_NAMES[d] for d in days)


@register.inclusion_tag("notifications/_incident_deliveries_panel.html", takes_context=True)
def incident_deliveries_panel(context, incident):
    request = context.get("request")
    actor = getattr(request, "actor", None)
    deliveries = attach_attempts(incident_deliveries(incident))
    return {
        "incident": incident,
        "deliveries": deliveries,
        "dead_count": sum(1 for d in deliveries if d.status == NotificationStatus.DEAD),
        "can_resend": actor is not None and actor.can(Capability.INCIDENT_MANAGE, incident),
        "csrf_token": context.get("csrf_token"),
    }
