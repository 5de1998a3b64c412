"""On-call and notifications: iCal feeds (RFC 5545) at secret URLs, one schedule's shifts or one
person's, eight weeks ahead."""

from datetime import timedelta

from django.http import Http404, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from notifications.ical import render_calendar, schedule_events, user_events
from notifications.selectors import calendar_feed_by_token


@require_GET
def calendar_feed(request, token):
    feed = calendar_feed_by_token(token)
    if feed is None:
        raise Http404("No calendar at this address.")
    now = timezone.now()
    start, end = now - timedelta(days=7), now + timedelta(weeks=8)
    if feed.schedule_id:
        name = f"On call: {feed.schedule.name}"
        events = schedule_events(feed.schedule, start, end)
    else:
        name = f"My on-call shifts ({feed.organization.name})"
        events = user_events(feed.organization, feed.user, start, end)
    response = HttpResponse(render_calendar(name, events), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="oncall.ics"'
    response["Cache-Control"] = "private, max-age=300"
    response["X-Robots-Tag"] = "noindex"
    return response
