"""On-call and notifications: who an escalation step pages, and the outbox rows that says so.

A step's targets (people, schedules, teams, channels) become the members paged now (whoever is on
call in a schedule at the tick, every member of a team, only current members of the organization)
and the organization's active channels; each person becomes one row per personal notification rule
(or their account address), each channel one row (one per number for Twilio). The reads are shared
by every incident of a tick's batch (:class:`BatchReads`).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from incidents.models import Incident
from notifications import oncall
from notifications.masking import mask_email, mask_phone
from notifications.models import (
    ChannelKind,
    ContactKind,
    EscalationPolicy,
    EscalationStep,
    Medium,
    Notification,
    NotificationRule,
    Schedule,
    ServiceEscalation,
    TargetKind,
    TeamEscalation,
)
from notifications.models.channels import TWILIO_KINDS
from opsplatform.accounts.models import Membership, Team, User

CONTACT_MEDIUM = {
    ContactKind.EMAIL: Medium.EMAIL,
    ContactKind.SMS: Medium.SMS,
    ContactKind.VOICE: Medium.VOICE,
    ContactKind.SLACK: Medium.SLACK,
    ContactKind.WEBHOOK: Medium.WEBHOOK,
    ContactKind.WEB_PUSH: Medium.WEB_PUSH,
}
CHANNEL_MEDIUM = {
    ChannelKind.EMAIL: Medium.EMAIL,
    ChannelKind.SLACK: Medium.SLACK,
    ChannelKind.TEAMS: Medium.TEAMS,
    ChannelKind.WEBHOOK: Medium.WEBHOOK,
    ChannelKind.TWILIO_SMS: Medium.SMS,
    ChannelKind.TWILIO_VOICE: Medium.VOICE,
}


def idempotency_key(*parts) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()


@dataclass
class PolicyPlan:
    policy: EscalationPolicy
    steps: list[EscalationStep]


@dataclass
class PersonalDelivery:
    """What one user is sent when a step pages them: (contact method or None, delay minutes)."""

    contact: object | None
    delay: int


@dataclass
class BatchReads:
    """Reads shared by every incident of one batch: the same policy, schedule or person is looked up
    once, however many incidents page them."""

    now: datetime
    policies: dict[int, PolicyPlan | None] = field(default_factory=dict)
    service_policy: dict[int, int] = field(default_factory=dict)
    team_policy: dict[int, int] = field(default_factory=dict)
    oncall: dict[int, int | None] = field(default_factory=dict)
    team_members: dict[int, list[int]] = field(default_factory=dict)
    org_members: dict[int, set[int]] = field(default_factory=dict)
    plans: dict[int, list[PersonalDelivery]] = field(default_factory=dict)
    users: dict[int, User] = field(default_factory=dict)

    def preload(self, incidents: list[Incident]) -> None:
        service_ids = {i.service_id for i in incidents if i.service_id} - set(self.service_policy)
        for link in ServiceEscalation.objects.filter(service_id__in=service_ids):
            self.service_policy[link.service_id] = link.policy_id
        team_ids = {self._team_id(i) for i in incidents} - {None} - set(self.team_policy)
        for link in TeamEscalation.objects.filter(team_id__in=team_ids):
            self.team_policy[link.team_id] = link.policy_id
        policy_ids = (set(self.service_policy.values()) | set(self.team_policy.values())) - set(self.policies)
        if policy_ids:
            steps = defaultdict(list)
            for step in (
                EscalationStep.objects.filter(policy_id__in=policy_ids)
                .prefetch_related(
                    "targets__user", "targets__schedule__team", "targets__team", "targets__channel"
                )
                .order_by("position")
            ):
                steps[step.policy_id].append(step)
            for policy in EscalationPolicy.objects.filter(pk__in=policy_ids):
                self.policies[policy.pk] = PolicyPlan(policy, steps[policy.pk])

    @staticmethod
    def _team_id(incident: Incident) -> int | None:
        if incident.team_id:
            return incident.team_id
        return incident.service.owner_team_id if incident.service_id and incident.service else None

    def plan_for(self, incident: Incident) -> PolicyPlan | None:
        policy_id = self.service_policy.get(incident.service_id) if incident.service_id else None
        if policy_id is None:
            team_id = self._team_id(incident)
            policy_id = self.team_policy.get(team_id) if team_id else None
        return self.policies.get(policy_id) if policy_id else None

    def members_of_org(self, organization_id: int) -> set[int]:
        if organization_id not in self.org_members:
            self.org_members[organization_id] = set(
                Membership.objects.filter(organization_id=organization_id, user__is_active=True).values_list(
                    "user_id", flat=True
                )
            )
        return self.org_members[organization_id]

    def oncall_user(self, schedule: Schedule) -> int | None:
        if schedule.pk not in self.oncall:
            snap = oncall.snapshot(schedule, self.now, self.now + timedelta(minutes=1))
            self.oncall[schedule.pk] = oncall.oncall_at(snap, self.now)
        return self.oncall[schedule.pk]

    def members_of_team(self, team: Team) -> list[int]:
        if team.pk not in self.team_members:
            self.team_members[team.pk] = list(team.members.order_by("username").values_list("pk", flat=True))
        return self.team_members[team.pk]

    def deliveries_for(self, user_ids: list[int]) -> None:
        missing = [uid for uid in user_ids if uid not in self.plans]
        if not missing:
            return
        # Read into locals and cache only when complete: a read that fails half-way (the incident
        # is then retried on its own) must not leave other incidents of the batch an empty plan.
        users = {user.pk: user for user in User.objects.filter(pk__in=missing)}
        plans: dict[int, list[PersonalDelivery]] = {uid: [] for uid in users}
        rules = (
            NotificationRule.objects.filter(user_id__in=missing, contact_method__verified_at__isnull=False)
            .select_related("contact_method")
            .order_by("delay_minutes", "id")
        )
        for rule in rules:
            plans[rule.user_id].append(PersonalDelivery(rule.contact_method, rule.delay_minutes))
        for uid, user in users.items():
            # Nobody goes unpaged for want of rules: their account address, at once.
            if not plans[uid] and user.email:
                plans[uid].append(PersonalDelivery(None, 0))
        self.users.update(users)
        self.plans.update(plans)
        # Ids with no user (deleted since) are remembered as having nothing to send.
        for uid in missing:
            self.plans.setdefault(uid, [])


def _advance_rr(step: EscalationStep) -> int:
    """The round-robin position to use now, advanced atomically (concurrent ticks get distinct ones)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE notifications_escalationstep SET rr_next = rr_next + 1 "
            "WHERE id = %s RETURNING rr_next - 1",
            [step.pk],
        )
        return cursor.fetchone()[0]


def _candidates(step: EscalationStep, incident: Incident, ctx: BatchReads) -> list[tuple[str, object]]:
    """The step's targets expanded to ("user", id) / ("channel", Channel), in target order, de-duplicated."""
    members = ctx.members_of_org(incident.organization_id)
    seen, result = set(), []

    def add(kind, key, value):
        if (kind, key) not in seen:
            seen.add((kind, key))
            result.append((kind, value))

    for target in step.targets.all():
        if target.kind == TargetKind.USER and target.user_id in members:
            add("user", target.user_id, target.user_id)
        elif target.kind == TargetKind.SCHEDULE:
            user_id = ctx.oncall_user(target.schedule)
            if user_id in members:
                add("user", user_id, user_id)
        elif target.kind == TargetKind.TEAM:
            for user_id in ctx.members_of_team(target.team):
                if user_id in members:
                    add("user", user_id, user_id)
        elif target.kind == TargetKind.CHANNEL and target.channel.is_active:
            add("channel", target.channel_id, target.channel)
    return result


def rows_for_step(
    incident: Incident, plan: PolicyPlan, index: int, cycle: int, ctx: BatchReads
) -> tuple[list[Notification], dict]:
    step = plan.steps[index]
    candidates = _candidates(step, incident, ctx)
    if step.round_robin and candidates:
        candidates = [candidates[_advance_rr(step) % len(candidates)]]
    user_ids = [value for kind, value in candidates if kind == "user"]
    ctx.deliveries_for(user_ids)
    now = ctx.now
    created = timezone.now()
    base = (incident.pk, incident.escalation_epoch, cycle, index)
    max_attempts = settings.NOTIFICATION_MAX_ATTEMPTS
    common = {
        "organization_id": incident.organization_id,
        "incident": incident,
        "epoch": incident.escalation_epoch,
        "cycle": cycle,
        "step": index,
        "policy": plan.policy,
        "max_attempts": max_attempts,
        "created_at": created,
        "updated_at": created,
    }
    rows, users, channels = [], [], []
    for kind, value in candidates:
        if kind == "channel":
            channels.append(value.name)
            # A Twilio channel texts or calls each of its numbers: one request, so one row, apiece.
            addresses = value.config.get("recipients", []) if value.kind in TWILIO_KINDS else [""]
            for address in addresses:
                rows.append(
                    Notification(
                        **common,
                        idempotency_key=idempotency_key(*base, "channel", value.pk, address),
                        channel=value,
                        medium=CHANNEL_MEDIUM[value.kind],
                        destination=(f"{value.name} {mask_phone(address)}" if address else value.name)[:200],
                        target_address=address,
                        next_attempt_at=now,
                    )
                )
            continue
        user = ctx.users.get(value)
        if user is None:
            continue
        users.append(user.username)
        for delivery in ctx.plans.get(value, []):
            contact = delivery.contact
            via = f"contact:{contact.pk}:{delivery.delay}" if contact else "account-email"
            rows.append(
                Notification(
                    **common,
                    idempotency_key=idempotency_key(*base, "user", user.pk, via),
                    recipient=user,
                    contact_method=contact,
                    medium=CONTACT_MEDIUM[contact.kind] if contact else Medium.EMAIL,
                    destination=(contact.masked_address if contact else mask_email(user.email))[:200],
                    conditional=delivery.delay > 0,
                    next_attempt_at=now + timedelta(minutes=delivery.delay),
                )
            )
    summary = {
        "policy": plan.policy.name,
        "policy_id": plan.policy.pk,
        "step": index + 1,
        "cycle": cycle + 1,
        "users": users,
        "channels": channels,
        "notifications": len(rows),
        "round_robin": step.round_robin,
    }
    return rows, summary
