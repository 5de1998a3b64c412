"""On-call and notifications for a demo organization: a webhook channel, an on-call schedule of the
demo people, and an escalation policy on every demo service whose first step pages whoever is on call
and the webhook.

Idempotent: each piece is created once (looked up by name). The webhook's URL comes from
``DEMO_WEBHOOK_URL`` when set (point it at a request bin to watch signed deliveries arrive); without
it the URL is a reserved ``.invalid`` name, so deliveries fail and show up on the delivery dashboard
and as dead letters, which is a demonstration too.
"""

import os
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from incidents.models import Service
from notifications.models import Channel, ChannelKind, EscalationPolicy, Schedule
from notifications.services import channels as channel_services
from notifications.services import policies as policy_services
from notifications.services import schedules as schedule_services
from opsplatform.accounts.models import Team
from opsplatform.core.actors import Actor

WEBHOOK_NAME = "Ops webhook"
SCHEDULE_NAME = "Primary on-call"
POLICY_NAME = "Default paging"
FALLBACK_WEBHOOK_URL = "https://hooks.opsplatform-demo.invalid/incidents"


@transaction.atomic
def seed_notifications(org, people: dict) -> None:
    system = Actor.system("seed_demo", organization=org)
    teams = list(Team.objects.filter(organization=org).order_by("pk"))
    if not teams:
        return
    channel = Channel.objects.filter(organization=org, name=WEBHOOK_NAME).first()
    if channel is None:
        channel = channel_services.channel_create(
            actor=system,
            name=WEBHOOK_NAME,
            kind=ChannelKind.WEBHOOK,
            url=os.environ.get("DEMO_WEBHOOK_URL", "").strip() or FALLBACK_WEBHOOK_URL,
        ).channel
    schedule = Schedule.objects.filter(organization=org, name=SCHEDULE_NAME).first()
    if schedule is None:
        team = teams[0]
        schedule = schedule_services.schedule_create(
            actor=system, team=team, name=SCHEDULE_NAME, description="Weekly rotation, handoff Monday 09:00."
        )
        today = timezone.now().astimezone(ZoneInfo(team.time_zone)).date()
        schedule_services.layer_save(
            actor=system,
            schedule=schedule,
            name="Weekly",
            rotation="weekly",
            start_date=today - timedelta(days=today.weekday()),
            handoff_time="09:00",
            participants=[people["operator"], people["manager"], people["admin"]],
        )
        # Business hours get a second pair of eyes on weekdays.
        schedule_services.layer_save(
            actor=system,
            schedule=schedule,
            name="Weekday daytime",
            rotation="daily",
            start_date=today,
            handoff_time="09:00",
            participants=[people["manager"], people["operator"]],
            restrictions=[{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}],
        )
    if not EscalationPolicy.objects.filter(organization=org, name=POLICY_NAME).exists():
        steps = [
            policy_services.StepSpec(
                delay_minutes=10, targets=[("schedule", schedule), ("channel", channel)]
            ),
            policy_services.StepSpec(delay_minutes=15, targets=[("team", teams[0])]),
            policy_services.StepSpec(delay_minutes=30, targets=[("user", people["owner"])]),
        ]
        policy = policy_services.policy_create(
            actor=system, name=POLICY_NAME, team=teams[0], repeat_count=1, steps=steps
        )
        policy_services.policy_attach(
            actor=system,
            policy=policy,
            services=list(Service.objects.filter(organization=org)),
            default_for_teams=teams,
        )
