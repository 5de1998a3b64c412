"""The "Recent activity" card: the latest ledger entries, written for people.

Routine machine work (deliveries, escalation steps, alerts joining an incident, SLA warnings,
sign-ins) is folded: a run of such entries becomes one line ("12 notifications delivered"), so
what people did stays readable. Whoever may read the audit log sees the whole ledger; everyone
else sees what happened to incidents (every member may see every incident of the organization).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from audit.models import LedgerEntry
from incidents.models import Incident
from incidents.templatetags.incidents import VERB_TEXT
from opsplatform.core.actors import ActorKind
from opsplatform.core.capabilities import Capability

SCAN = 80  # entries read: a storm of noise folds into a line, it does not crowd people out
LIMIT = 10  # lines shown
INCIDENT = "incidents.incident"

# verb -> (one, many): folded into a count
NOISE = {
    "notification.sent": ("notification delivered", "notifications delivered"),
    "notification.failed": ("delivery attempt failed", "delivery attempts failed"),
    "notification.cancelled": ("notification no longer needed", "notifications no longer needed"),
    "escalation.step_executed": ("escalation step ran", "escalation steps ran"),
    "incident.alerts_attached": ("alert update", "alert updates"),
    "incident.alerts_resolved": ("alert resolved", "alerts resolved"),
    "incident.sla_ack_warning": ("SLA warning", "SLA warnings"),
    "incident.sla_resolve_warning": ("SLA warning", "SLA warnings"),
    "auth.login": ("sign-in", "sign-ins"),
    "auth.logout": ("sign-out", "sign-outs"),
}

# How a line reads on the home page: "<who> <text> #12 Title" (VERB_TEXT is the incident timeline's
# wording, where the incident goes without saying).
INCIDENT_TEXT = {
    "incident.triggered": "opened",
    "incident.acknowledged": "acknowledged",
    "incident.resolved": "resolved",
    "incident.snoozed": "snoozed",
    "incident.unsnoozed": "snooze ended on",
    "incident.reopened": "reopened",
    "incident.escalated": "escalated",
    "incident.updated": "changed",
    "incident.reassigned": "reassigned",
    "incident.responders_added": "added responders to",
    "incident.note_added": "commented on",
    "incident.merged": "merged",
    "incident.merged_in": "merged another incident into",
    "incident.sla_ack_breached": "SLA breached (not acknowledged in time):",
    "incident.sla_resolve_breached": "SLA breached (not resolved in time):",
    "escalation.no_policy": "no escalation policy, nobody paged:",
    "escalation.exhausted": "escalation finished, nobody acknowledged:",
    "notification.dead_lettered": "gave up on a notification for",
    "notification.resend_requested": "resent a notification for",
}

# Other entries: "<who> <text> “<name>”"; compound verbs read better spelled out.
OTHER_TEXT = {
    "schedule.layer_added": "added a layer to a schedule",
    "schedule.layer_removed": "removed a layer from a schedule",
    "team.members_changed": "changed the members of team",
    "member.role_changed": "changed the role of a member",
    "escalation_policy.step_added": "added a step to an escalation policy",
    "escalation_policy.step_removed": "removed a step from an escalation policy",
    "escalation_policy.attached": "attached an escalation policy",
    "integration.key_rotated": "rotated the key of integration",
    "channel.signing_secret_rotated": "rotated the signing secret of channel",
    "contact_method.verification_sent": "sent a verification code",
    "routing_rule.reordered": "reordered routing rules",
    "user.profile_updated": "updated their profile",
    "user.password_changed": "changed their password",
    "demo.history_seeded": "loaded the demo history",
}

BAD = {
    "incident.sla_ack_breached",
    "incident.sla_resolve_breached",
    "escalation.no_policy",
    "escalation.exhausted",
    "notification.dead_lettered",
    "incident.triggered",
}
GOOD = {"incident.resolved"}


@dataclass
class Line:
    when: datetime
    actor: str  # "" for the system's own doing
    is_me: bool
    text: str
    incident: Incident | None = None
    incident_id: int | None = None
    tone: str = ""  # "bad" / "ok" / ""
    verb: str = ""
    folded = False


@dataclass
class Fold:
    when: datetime  # the newest entry of the run
    counts: Counter = field(default_factory=Counter)  # "notification delivered" -> 12
    folded = True

    @property
    def text(self) -> str:
        return " · ".join(
            f"{n} {NOISE_LABEL[label][0 if n == 1 else 1]}" for label, n in self.counts.most_common()
        )


# one label per folded kind (warnings of both clocks count together)
NOISE_LABEL = {one: (one, many) for one, many in NOISE.values()}


@dataclass(frozen=True)
class Activity:
    items: list  # Line | Fold, newest first
    full_ledger: bool


def _actor(entry: LedgerEntry, user) -> tuple[str, bool]:
    if entry.actor_type == ActorKind.USER and entry.actor_id == str(user.pk):
        return "You", True
    if entry.actor_type == ActorKind.SYSTEM:
        return "", False
    return entry.actor_label or entry.get_actor_type_display(), False


def _other_text(entry: LedgerEntry) -> str:
    """A non-incident entry ("team.created" → "created team “Payments”")."""
    noun, _, action = entry.verb.partition(".")
    noun = noun.replace("_", " ").replace("api ", "API ")
    name = entry.data.get("name") or entry.data.get("title") or entry.data.get("email") or ""
    text = OTHER_TEXT.get(entry.verb) or (f"{action.replace('_', ' ')} {noun}" if action else noun)
    return f"{text} “{name}”" if isinstance(name, str) and name else text


def recent_activity(organization, actor, *, scan: int = SCAN, limit: int = LIMIT) -> Activity:
    full = actor.can(Capability.AUDIT_VIEW)
    entries = LedgerEntry.objects.filter(organization=organization)
    if not full:
        entries = entries.filter(target_type=INCIDENT)
    entries = list(entries.order_by("-sequence")[:scan])
    incident_ids = {int(e.target_id) for e in entries if e.target_type == INCIDENT and e.target_id.isdigit()}
    incidents = Incident.objects.for_organization(organization).in_bulk(incident_ids) if incident_ids else {}
    items: list = []
    for entry in entries:
        if len(items) >= limit:
            break
        if entry.verb in NOISE:
            label = NOISE[entry.verb][0]
            if items and isinstance(items[-1], Fold):
                items[-1].counts[label] += 1
            else:
                items.append(Fold(when=entry.created_at, counts=Counter({label: 1})))
            continue
        who, is_me = _actor(entry, actor.user)
        if entry.target_type == INCIDENT:
            incident_id = int(entry.target_id) if entry.target_id.isdigit() else None
            text = INCIDENT_TEXT.get(entry.verb) or VERB_TEXT.get(entry.verb, entry.verb)
            line = Line(
                entry.created_at,
                who,
                is_me,
                text,
                incident=incidents.get(incident_id),
                incident_id=incident_id,
                verb=entry.verb,
            )
        else:
            line = Line(entry.created_at, who, is_me, _other_text(entry), verb=entry.verb)
        line.tone = "bad" if entry.verb in BAD else "ok" if entry.verb in GOOD else ""
        items.append(line)
    return Activity(items=items, full_ledger=full)
