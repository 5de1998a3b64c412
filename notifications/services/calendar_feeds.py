"""On-call and notifications: writes to calendar feeds, the secret iCal URLs of one schedule or of one
person's shifts. Only the digest of a feed's token is kept; the URL is shown once. The feed behind a
URL is read by ``selectors.calendar_feed_by_token``."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from audit.services import record
from notifications.models import CalendarFeed, Schedule
from notifications.services.schedules import require_same_org
from opsplatform.accounts.services import digest
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Capability

FEED_PREFIX = CalendarFeed.TOKEN_PREFIX


@dataclass(frozen=True)
class IssuedFeed:
    feed: CalendarFeed
    token: str  # shown once

    @property
    def path(self) -> str:
        return f"/oncall/calendar/{self.token}.ics"


@transaction.atomic
def calendar_feed_create(*, actor: Actor, schedule: Schedule | None = None, user=None) -> IssuedFeed:
    """A secret feed of one schedule (anyone who may see schedules) or of the actor's own shifts."""
    if (schedule is None) == (user is None):
        raise ValidationError({"feed": "A feed is of one schedule or of one person."})
    actor.require(Capability.TEAM_VIEW)
    if schedule is not None:
        require_same_org(actor, schedule, "schedule")
    elif actor.user is None or actor.user.pk != user.pk:
        raise PermissionDenied("A personal feed can only be made by its owner.")
    token = FEED_PREFIX + secrets.token_urlsafe(24)
    feed = CalendarFeed.objects.create(
        organization=actor.organization,
        schedule=schedule,
        user=user,
        token_hash=digest(token),
        prefix=token[: len(FEED_PREFIX) + 6],
        created_by=actor.user,
    )
    record(
        actor=actor,
        verb="calendar_feed.created",
        target=feed,
        data={"schedule": schedule.pk if schedule else None, "user": user.username if user else None},
    )
    return IssuedFeed(feed=feed, token=token)


@transaction.atomic
def calendar_feed_revoke(*, actor: Actor, feed: CalendarFeed) -> CalendarFeed:
    feed = CalendarFeed.objects.select_for_update().get(pk=feed.pk, organization=actor.organization)
    own = actor.user is not None and actor.user.pk in (feed.created_by_id, feed.user_id)
    if not own:
        actor.require(Capability.SCHEDULE_MANAGE)
    if feed.revoked_at:
        return feed
    feed.revoked_at = timezone.now()
    feed.save(update_fields=["revoked_at"])
    record(actor=actor, verb="calendar_feed.revoked", target=feed, data={"prefix": feed.prefix})
    return feed
