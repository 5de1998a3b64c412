"""What each action does. Database actions go through the services of the app they change
(incidents, workflows), acting as the rule's system actor; HTTP actions go through the guarded
client with an HMAC-signed body (the signature scheme of the outbound webhooks, docs/webhooks.md).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from incidents import services as incident_services
from opsplatform.core import crypto, http
from opsplatform.core.actors import Actor
from opsplatform.core.memo import remembered
from opsplatform.core.webhook_signature import sign
from workflows.models import NoticeKind, WorkflowDefinition, WorkflowRun
from workflows.services import notices, people
from workflows.services.runs import run_create
from workflows.services.task_items import task_create
from workflows.spec import People

REMEDIATION_LABEL = "remediation_hook"


class Skip(Exception):
    """The action does not apply to this event (an incident action without an incident)."""


@dataclass
class HttpResult:
    ok: bool
    status: int | None
    error: str


def actor_for(rule) -> Actor:
    # The job names the rule; its "automation" prefix keeps the consumer from reacting to it.
    return Actor.system(f"automation:rule:{rule.pk}", organization=rule.organization)


def secret_context(rule_id) -> str:
    return f"automation-rule:{rule_id}"


def rule_secret(rule) -> str:
    return crypto.decrypt(rule.webhook_secret, context=secret_context(rule.pk)) if rule.webhook_secret else ""


def _incident(execution):
    if execution.incident_id is None:
        raise Skip("The event concerns no incident.")
    return execution.incident


def _run_of(execution):
    if execution.target_type == "workflows.workflowrun" and execution.target_id.isdigit():
        return WorkflowRun.objects.filter(
            organization_id=execution.organization_id, pk=int(execution.target_id)
        ).first()
    return None


def _people_ids(execution, raw) -> list[int]:
    organization, wanted = execution.rule.organization, People.of(raw)
    # A chunk's notices to "the operators" ask once who they are (see chunks.database_chunk).
    return sorted(
        remembered(("people", organization.pk, wanted), lambda: people.resolve(organization, wanted))
    )


def _start_workflow(execution, actor, action) -> dict:
    rule = execution.rule
    definition = WorkflowDefinition.objects.filter(
        organization_id=rule.organization_id, key=action["workflow"]
    ).first()
    if definition is None:
        raise ValidationError(f"No workflow with key {action['workflow']!r}.")
    incident = execution.incident
    title = action.get("title") or (
        f"{rule.name}: #{incident.pk} {incident.title}"
        if incident
        else f"{rule.name}: {execution.event_verb}"
    )
    run = run_create(
        actor=actor,
        definition=definition,
        title=title[:200],
        incident=incident,
        trigger_key=f"automation:{execution.pk}",
    )
    return {"run": run.pk}


def _create_task(execution, actor, action) -> dict:
    assignee = (
        get_user_model().objects.filter(pk=action["assignee"]).first() if action.get("assignee") else None
    )
    due = (
        execution.created_at + timedelta(minutes=action["due_minutes"]) if action.get("due_minutes") else None
    )
    task = task_create(
        actor=actor,
        title=action["title"],
        description=action.get("description", ""),
        assignee=assignee,
        due_at=due,
        incident=execution.incident,
        run=_run_of(execution),
    )
    return {"task": task.pk}


def _notify(execution, actor, action) -> dict:
    recipients = _people_ids(execution, action["people"])
    notices.enqueue(
        organization_id=execution.organization_id,
        kind=NoticeKind.AUTOMATION,
        recipients=recipients,
        key=f"automation:{execution.pk}",
        execution=execution,
    )
    return {"recipients": recipients}


def _set_field(field):
    def change(execution, actor, action) -> dict:
        incident_services.incident_update(
            actor=actor, incident=_incident(execution), **{field: action[field]}
        )
        return {field: action[field]}

    return change


def _add_responders(execution, actor, action) -> dict:
    incident = _incident(execution)
    users = list(get_user_model().objects.filter(pk__in=_people_ids(execution, action["people"])))
    incident_services.incident_add_responders(actor=actor, incident=incident, responders=users)
    return {"responders": sorted(u.pk for u in users)}


def _escalate(execution, actor, action) -> dict:
    incident_services.incident_escalate(actor=actor, incident=_incident(execution))
    return {"escalated": True}


DATABASE_ACTIONS = {
    "start_workflow": _start_workflow,
    "create_task": _create_task,
    "notify": _notify,
    "set_severity": _set_field("severity"),
    "set_priority": _set_field("priority"),
    "add_responders": _add_responders,
    "escalate": _escalate,
}


def perform(execution) -> dict:
    """A database action, inside the caller's transaction; returns what it did (the outcome)."""
    action = execution.action
    if action["type"] not in DATABASE_ACTIONS:
        raise ValidationError(f"{action['type']} is not a database action.")
    return DATABASE_ACTIONS[action["type"]](execution, actor_for(execution.rule), action)


def escalate_after_remediation(execution) -> dict:
    return _escalate(execution, actor_for(execution.rule), execution.action)


def hook_url(execution) -> str:
    action = execution.action
    if action.get("url"):
        return action["url"]
    incident = _incident(execution)
    url = (incident.service.labels or {}).get(REMEDIATION_LABEL, "") if incident.service_id else ""
    if not url:
        raise Skip(
            f"No remediation hook: neither the action nor the service (label {REMEDIATION_LABEL}) names one."
        )
    return url


def payload(execution) -> dict:
    incident = execution.incident
    return {
        "type": f"automation.{execution.action['type']}",
        "delivery_id": execution.idempotency_key,
        "attempt": execution.attempts,
        "rule": {"id": execution.rule_id, "name": execution.rule.name},
        "event": {
            "verb": execution.event_verb,
            "sequence": execution.entry_sequence,
            "at": execution.event_at.isoformat(),
            "target_type": execution.target_type,
            "target_id": execution.target_id,
        },
        "incident": (
            {
                "id": incident.pk,
                "title": incident.title,
                "severity": incident.severity,
                "status": incident.status,
                "service": incident.service.slug if incident.service_id else None,
            }
            if incident
            else None
        ),
    }


def call(execution, url: str) -> HttpResult:
    """One signed POST. Any answer but 2xx, or no answer, is a failure the runner may retry."""
    content = json.dumps(payload(execution), separators=(",", ":"), sort_keys=True).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "X-OpsPlatform-Timestamp": str(timestamp),
        "X-OpsPlatform-Delivery": execution.idempotency_key,
    }
    secret = rule_secret(execution.rule)
    if secret:
        headers["X-OpsPlatform-Signature"] = sign(secret, timestamp, content)
    try:
        response = http.post(url, content=content, headers=headers)
    except Exception as exc:  # connect refused, timeout, SSRF guard: the attempt failed, say why
        return HttpResult(False, None, f"{type(exc).__name__}: {exc}"[:300])
    if 200 <= response.status_code < 300:
        return HttpResult(True, response.status_code, "")
    return HttpResult(False, response.status_code, f"HTTP {response.status_code}")
