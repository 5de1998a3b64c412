"""Reads of On-call and notifications: on-call overviews, the schedule timeline, calendar feeds,
policies, deliveries, and the opened secrets of channels and contact methods (for the senders).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.crypto import salted_hmac

from incidents.models import Incident, Service
from notifications import oncall
from notifications.models import (
    CalendarFeed,
    Channel,
    ContactMethod,
    EscalationPolicy,
    EscalationStep,
    Notification,
    NotificationRule,
    NotificationStatus,
    Schedule,
    ScheduleOverride,
    ServiceEscalation,
    ShiftSwap,
    StepTarget,
    TeamEscalation,
)
from opsplatform.accounts.models import Membership, Team, User
from opsplatform.accounts.services import digest
from opsplatform.core import crypto

TIMELINE_DAYS = 14


# --- schedules ----------------------------------------------------------------------------------


def schedules_for_list(organization) -> QuerySet[Schedule]:
    return Schedule.objects.for_organization(organization).select_related("team").order_by("name")


@dataclass
class OnCallSummary:
    schedule: Schedule
    current: oncall.Segment | None
    next: oncall.Segment | None
    current_user: User | None = None
    next_user: User | None = None


def oncall_summaries(schedules, at: datetime | None = None) -> list[OnCallSummary]:
    """Who is on call now and next in each schedule (people resolved in one query)."""
    at = at or timezone.now()
    result = []
    for schedule in schedules:
        snap = oncall.snapshot(schedule, at, at + oncall.DEFAULT_NEXT_HORIZON)
        current, upcoming = oncall.current_and_next(snap, at)
        result.append(OnCallSummary(schedule, current, upcoming))
    users = users_by_id(seg.user_id for s in result for seg in (s.current, s.next) if seg is not None)
    for summary in result:
        summary.current_user = users.get(summary.current.user_id) if summary.current else None
        summary.next_user = users.get(summary.next.user_id) if summary.next else None
    return result


def users_by_id(ids) -> dict[int, User]:
    return {u.pk: u for u in User.objects.filter(pk__in={i for i in ids if i})}


@dataclass
class Bar:
    """One segment of one day's row on the timeline, positioned in percent of that day."""

    start: datetime
    end: datetime
    user: User | None
    source: str
    left: float
    width: float
    color: int

    @property
    def is_gap(self) -> bool:
        return self.user is None


@dataclass
class DayRow:
    day: datetime  # local midnight
    bars: list[Bar]
    has_gap: bool


@dataclass
class TimelineView:
    rows: list[DayRow]
    gaps: list[oncall.Segment]
    legend: list[tuple[User, int]]  # (person, colour index)


def timeline_rows(
    schedule: Schedule, *, days: int = TIMELINE_DAYS, at: datetime | None = None
) -> TimelineView:
    """The schedule page's timeline: ``days`` local days from today, each row spanning its own local
    midnight to midnight (23 or 25 hours on daylight-saving days)."""
    tz = ZoneInfo(schedule.team.time_zone)
    at = at or timezone.now()
    first = at.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    midnights = [oncall.localize(first + timedelta(days=i), tz) for i in range(days + 1)]
    snap = oncall.snapshot(schedule, midnights[0], midnights[-1])
    segments = oncall.timeline(snap, midnights[0], midnights[-1])
    users = users_by_id(seg.user_id for seg in segments)
    colors = {uid: index % 8 for index, uid in enumerate(sorted(users))}
    rows = []
    for lo, hi in itertools.pairwise(midnights):
        span = (hi - lo).total_seconds()
        bars = []
        for seg in segments:
            a, b = max(seg.start, lo), min(seg.end, hi)
            if a >= b:
                continue
            bars.append(
                Bar(
                    start=a,
                    end=b,
                    user=users.get(seg.user_id),
                    source=seg.source,
                    left=round((a - lo).total_seconds() / span * 100, 3),
                    width=round((b - a).total_seconds() / span * 100, 3),
                    color=colors.get(seg.user_id, 0),
                )
            )
        rows.append(DayRow(day=lo.astimezone(tz), bars=bars, has_gap=any(bar.is_gap for bar in bars)))
    legend = sorted(((user, colors[uid]) for uid, user in users.items()), key=lambda item: item[0].username)
    return TimelineView(rows=rows, gaps=oncall.gaps(segments), legend=legend)


def upcoming_overrides(schedule: Schedule, at: datetime | None = None) -> QuerySet[ScheduleOverride]:
    at = at or timezone.now()
    return schedule.overrides.filter(ends_at__gt=at).select_related("user", "replaces").order_by("starts_at")


def upcoming_swaps(schedule: Schedule, at: datetime | None = None) -> QuerySet[ShiftSwap]:
    at = at or timezone.now()
    return (
        schedule.swaps.filter(ends_at__gt=at)
        .select_related("first_user", "second_user")
        .order_by("starts_at")
    )


# --- calendar feeds -----------------------------------------------------------------------------


def calendar_feed_by_token(token: str) -> CalendarFeed | None:
    """The live feed behind a secret URL, or None (unknown, revoked and out-of-reach look the same)."""
    if not token.startswith(CalendarFeed.TOKEN_PREFIX) or len(token) > 100:
        return None
    feed = (
        CalendarFeed.objects.select_related("organization", "schedule__team", "user")
        .filter(token_hash=digest(token))
        .first()
    )
    if feed is None or not feed.is_active:
        return None
    # The feed is seen with its holder's eyes (the person of a personal feed, else whoever made
    # it): once they leave the organization or are deactivated, its schedules are out of reach.
    holder_id = feed.user_id or feed.created_by_id
    if (
        holder_id is None
        or not Membership.objects.filter(
            organization=feed.organization, user_id=holder_id, user__is_active=True
        ).exists()
    ):
        return None
    return feed


def active_feeds(organization, *, schedule=None, user=None) -> QuerySet[CalendarFeed]:
    feeds = CalendarFeed.objects.for_organization(organization).filter(revoked_at__isnull=True)
    if schedule is not None:
        feeds = feeds.filter(schedule=schedule)
    if user is not None:
        feeds = feeds.filter(user=user)
    return feeds.select_related("created_by")


# --- escalation policies ------------------------------------------------------------------------


def policies_for_list(organization) -> QuerySet[EscalationPolicy]:
    return (
        EscalationPolicy.objects.for_organization(organization)
        .select_related("team")
        .annotate(
            step_count=Count("steps", distinct=True), service_count=Count("service_links", distinct=True)
        )
        .order_by("name")
    )


def policy_with_steps(queryset: QuerySet[EscalationPolicy]) -> QuerySet[EscalationPolicy]:
    targets = StepTarget.objects.select_related("user", "schedule", "team", "channel").order_by(
        "position", "id"
    )
    return queryset.prefetch_related(
        Prefetch("steps", queryset=EscalationStep.objects.order_by("position").prefetch_related(
            Prefetch("targets", queryset=targets)
        ))
    )  # fmt: skip


def policy_services(policy: EscalationPolicy) -> list[Service]:
    ids = ServiceEscalation.objects.filter(policy=policy).values("service_id")
    return list(Service.objects.filter(pk__in=ids).order_by("name"))


def policy_default_teams(policy: EscalationPolicy) -> list[Team]:
    ids = TeamEscalation.objects.filter(policy=policy).values("team_id")
    return list(Team.objects.filter(pk__in=ids).order_by("name"))


# --- channels and contact methods: what the senders need ---------------------------------------


def channel_secrets(channel: Channel) -> dict:
    """The channel's secrets, opened. For its sender and for the service that re-seals them; never
    logged, never rendered."""
    if not channel.secrets_encrypted:
        return {}
    return json.loads(crypto.decrypt(channel.secrets_encrypted, context=channel.secret_context))


def contact_secret(contact: ContactMethod) -> str:
    """A webhook contact method's signing secret, opened (empty for other kinds)."""
    if not contact.secret_encrypted:
        return ""
    return crypto.decrypt(contact.secret_encrypted, context=contact.secret_context)


def carrier_channel(organization_id: int, kinds) -> Channel | None:
    """The organization's active channel of one of ``kinds`` that carries personal contact methods
    (Slack mentions, text messages, calls): the preferred kind first, then the oldest."""
    kinds = list(kinds)
    channels = list(Channel.objects.filter(organization_id=organization_id, kind__in=kinds, is_active=True))
    channels.sort(key=lambda c: (kinds.index(c.kind), c.created_at, c.pk))
    return channels[0] if channels else None


def first_contact_methods(user_ids) -> dict[int, list[ContactMethod]]:
    """For messages that are not pages (approvals, tasks): each person's contact methods of their
    earliest notification rules (usually "immediately"), verified ones only, as a page would use
    first. A person with no rules is absent: they are reached at their account address."""
    result: dict[int, list[ContactMethod]] = {}
    first_delay: dict[int, int] = {}
    rules = (
        NotificationRule.objects.filter(user_id__in=list(user_ids), contact_method__verified_at__isnull=False)
        .select_related("contact_method")
        .order_by("user_id", "delay_minutes", "id")
    )
    for rule in rules:
        delay = first_delay.setdefault(rule.user_id, rule.delay_minutes)
        contacts = result.setdefault(rule.user_id, [])
        if rule.delay_minutes == delay and rule.contact_method not in contacts:
            contacts.append(rule.contact_method)
    return result


def verification_code(contact: ContactMethod, nonce: str | None = None) -> str:
    """The code pending for ``contact`` (under ``nonce``, default the current one). Codes are not
    stored: an HMAC of the contact's id and the nonce, so the sender recomputes it from ids alone."""
    nonce = contact.verification_nonce if nonce is None else nonce
    mac = salted_hmac("notifications.contact-verification", f"{contact.pk}:{nonce}").hexdigest()
    return f"{int(mac[:12], 16) % 1_000_000:06d}"


# --- deliveries ---------------------------------------------------------------------------------


def notifications_for_list(organization) -> QuerySet[Notification]:
    return Notification.objects.for_organization(organization).select_related("recipient", "channel")


def incident_deliveries(incident: Incident) -> QuerySet[Notification]:
    return (
        notifications_for_list(incident.organization).filter(incident=incident).order_by("created_at", "id")
    )


@dataclass
class ChannelHealth:
    channel: Channel
    sent: int
    failed: int
    dead: int


def delivery_dashboard(organization, *, days: int = 7) -> dict:
    since = timezone.now() - timedelta(days=days)
    recent = Q(notifications__created_at__gte=since)
    channels = (
        Channel.objects.for_organization(organization)
        .annotate(
            sent=Count("notifications", filter=recent & Q(notifications__status=NotificationStatus.SENT)),
            failing=Count(
                "notifications", filter=recent & Q(notifications__status=NotificationStatus.FAILED)
            ),
            dead=Count("notifications", filter=recent & Q(notifications__status=NotificationStatus.DEAD)),
        )
        .order_by("-consecutive_failures", "name")
    )
    failing = [c for c in channels if c.consecutive_failures or c.failing or c.dead]
    dead_letters = (
        notifications_for_list(organization)
        .filter(status=NotificationStatus.DEAD, created_at__gte=since)
        .select_related("incident")
        .order_by("-updated_at")[:100]
    )
    counts = dict(
        Notification.objects.for_organization(organization)
        .filter(created_at__gte=since)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    return {
        "channels": channels,
        "failing": failing,
        "dead_letters": dead_letters,
        "counts": counts,
        "days": days,
    }
