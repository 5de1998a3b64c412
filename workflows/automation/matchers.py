"""Does a rule fire for a ledger entry? Pure functions over a frozen ``Subject``: the incident the
entry concerns (directly, through a workflow run, or through a task), loaded in bulk per batch.

The consumer and the backtest call the same ``fires``: a backtest shows what the rule would have
done because it asks exactly the question the consumer asks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from incidents.ingest.matching import matches as routing_matches
from incidents.models import Incident
from workflows.automation.models import Trigger
from workflows.models import Task, WorkflowRun

INCIDENT = "incidents.incident"
RUN = "workflows.workflowrun"
TASK = "workflows.task"

VERBS = {
    Trigger.INCIDENT_TRIGGERED: ("incident.triggered",),
    Trigger.INCIDENT_ACKNOWLEDGED: ("incident.acknowledged",),
    Trigger.INCIDENT_RESOLVED: ("incident.resolved",),
    Trigger.SLA_WARNING: ("incident.sla_ack_warning", "incident.sla_resolve_warning"),
    Trigger.SLA_BREACHED: ("incident.sla_ack_breached", "incident.sla_resolve_breached"),
    Trigger.WORKFLOW_STATE: ("workflow.run.created", "workflow.run.transitioned"),
    Trigger.TASK_OVERDUE: ("task.overdue",),
    Trigger.MONITOR_DOWN: ("monitor.down",),
}
ALL_VERBS = frozenset(verb for verbs in VERBS.values() for verb in verbs)
# The consumer's own system actor: rules do not react to what automation itself did, so two rules
# (set severity ↔ on severity) cannot feed each other forever.
AUTOMATION_JOB_PREFIX = "automation"


@dataclass(frozen=True)
class Subject:
    incident_id: int | None = None
    severity: str | None = None
    priority: str | None = None
    title: str | None = None
    status: str | None = None
    source: str | None = None
    dedup_key: str | None = None
    group_key: str | None = None
    service: str | None = None
    team: str | None = None
    labels: dict = field(default_factory=dict)


def _from_incident(incident: Incident, data: dict) -> Subject:
    return Subject(
        incident_id=incident.pk,
        # The severity the event carried (what it was then), else the incident's current one.
        severity=data.get("severity") or incident.severity,
        priority=data.get("priority") or incident.priority,
        title=incident.title,
        status=incident.status,
        source=incident.source,
        dedup_key=incident.dedup_key,
        group_key=incident.group_key,
        service=incident.service.slug if incident.service_id else None,
        team=incident.team.slug if incident.team_id else None,
        labels=dict(incident.labels or {}),
    )


def _ids(entries, target_type) -> set[int]:
    return {int(e.target_id) for e in entries if e.target_type == target_type and e.target_id.isdigit()}


class Context:
    """The incidents, runs and tasks a batch of entries concerns, read in three queries."""

    def __init__(self, organization_id, entries):
        entries = [e for e in entries if e.verb in ALL_VERBS]
        self.tasks = {
            t.pk: t
            for t in Task.objects.filter(
                organization_id=organization_id, pk__in=_ids(entries, TASK)
            ).select_related("run")
        }
        run_ids = _ids(entries, RUN) | {t.run_id for t in self.tasks.values() if t.run_id}
        self.runs = {
            r.pk: r
            for r in WorkflowRun.objects.filter(
                organization_id=organization_id, pk__in=run_ids
            ).select_related("service", "team")
        }
        incident_ids = (
            _ids(entries, INCIDENT)
            | {r.incident_id for r in self.runs.values() if r.incident_id}
            | {t.incident_id for t in self.tasks.values() if t.incident_id}
        )
        self.incidents = {
            i.pk: i
            for i in Incident.objects.filter(
                organization_id=organization_id, pk__in=incident_ids
            ).select_related("service", "team")
        }

    def subject(self, entry) -> Subject | None:
        target = int(entry.target_id) if entry.target_id.isdigit() else None
        if entry.target_type == INCIDENT:
            incident = self.incidents.get(target)
            return _from_incident(incident, entry.data) if incident else None
        if entry.target_type == TASK:
            return self._of_task(self.tasks.get(target))
        if entry.target_type == RUN:
            return self._of_run(self.runs.get(target))
        return Subject() if entry.verb == "monitor.down" else None

    def _of_task(self, task) -> Subject | None:
        if task is None:
            return None
        if task.incident_id in self.incidents:
            return _from_incident(self.incidents[task.incident_id], {})
        return self._of_run(self.runs.get(task.run_id)) if task.run_id else Subject()

    def _of_run(self, run) -> Subject | None:
        if run is None:
            return None
        if run.incident_id in self.incidents:
            return _from_incident(self.incidents[run.incident_id], {})
        return Subject(
            service=run.service.slug if run.service_id else None,
            team=run.team.slug if run.team_id else None,
        )


def _matcher_hit(matcher: dict, subject: Subject) -> bool:
    # The routing rules' evaluator, reused as is: it reads attributes (and ``labels``) of its event.
    return routing_matches([matcher], subject)


def _group_hit(group: dict, subject: Subject) -> bool:
    hits = (_matcher_hit(m, subject) for m in group["matchers"])
    return all(hits) if group.get("match", "all") == "all" else any(hits)


def conditions_hold(conditions: dict, subject: Subject) -> bool:
    groups = (conditions or {}).get("groups") or []
    if not groups:
        return True
    hits = (_group_hit(g, subject) for g in groups)
    return all(hits) if conditions.get("match", "all") == "all" else any(hits)


def _trigger_hit(rule, entry) -> bool:
    if entry.verb not in VERBS.get(rule.trigger, ()):
        return False
    if rule.trigger != Trigger.WORKFLOW_STATE:
        return True
    data = entry.data or {}
    entered = data.get("state") if entry.verb == "workflow.run.created" else data.get("to")
    if rule.trigger_state and entered != rule.trigger_state:
        return False
    return not rule.trigger_workflow or data.get("workflow") == rule.trigger_workflow


def by_automation(entry) -> bool:
    return entry.actor_type == "system" and entry.actor_id.startswith(AUTOMATION_JOB_PREFIX)


def fires(rule, entry, context: Context) -> Subject | None:
    """The subject the rule fires on for this entry, or None."""
    if by_automation(entry) or not _trigger_hit(rule, entry):
        return None
    subject = context.subject(entry)
    if subject is None or not conditions_hold(rule.conditions, subject):
        return None
    return subject
