"""Risky actions wait for a person: the execution opens an approval through the workflows approvals
(a run of a small "automation approval" workflow whose only way forward is an approval gate), and
runs when that run reaches APPROVED. Deciding uses the whole of the approvals machinery: the inbox,
signed e-mail links, reminders, escalation to a fallback, separation of duties.

The rule's author is the requester: they asked for the action when they wrote the rule, so they
never count as its approver.
"""

from __future__ import annotations

import hashlib
import json

from django.core.exceptions import ValidationError
from django.db import transaction

from workflows.automation.actions import actor_for
from workflows.automation.models import AutomationExecution
from workflows.automation.spec import describe
from workflows.models import WorkflowDefinition
from workflows.services.definitions import definition_create
from workflows.services.runs import run_create

WAITING, APPROVED, REJECTED = "WAITING", "APPROVED", "REJECTED"


def approval_spec(approvers: dict) -> dict:
    return {
        "states": [
            {"key": WAITING, "label": "Waiting for approval", "initial": True},
            {"key": APPROVED, "label": "Approved", "terminal": True},
            {"key": REJECTED, "label": "Rejected", "terminal": True},
        ],
        "transitions": [
            {
                "from": WAITING,
                "event": "approve",
                "to": APPROVED,
                "label": "Approve",
                "gate": {
                    "approvers": approvers,
                    "rule": "n_of_m",
                    "required": 1,
                    "timeout_minutes": 240,
                    "remind_after_minutes": 30,
                    "fallback": {"roles": ["owner"]},
                    "on_reject": "end",
                    "end_state": REJECTED,
                },
            },
        ],
    }


def definition_key(approvers: dict) -> str:
    digest = hashlib.sha256(json.dumps(approvers, sort_keys=True).encode()).hexdigest()[:12]
    return f"automation_approval_{digest}"


def approval_definition(rule, approvers: dict) -> WorkflowDefinition:
    """One definition per set of approvers, made when first needed."""
    key = definition_key(approvers)
    found = WorkflowDefinition.objects.filter(organization_id=rule.organization_id, key=key).first()
    if found:
        return found
    try:
        with transaction.atomic():
            return definition_create(
                actor=actor_for(rule),
                key=key,
                name="Automation approval",
                description="Risky automation actions wait here for a person's approval.",
                spec=approval_spec(approvers),
            )
    except ValidationError:
        # Two ticks made it at once: the other one's stands.
        found = WorkflowDefinition.objects.filter(organization_id=rule.organization_id, key=key).first()
        if found is None:
            raise
        return found


def request_approval(execution: AutomationExecution):
    """Open the approval run of a waiting execution (called with the execution locked)."""
    rule = execution.rule
    if rule.created_by_id is None:
        raise ValueError("The rule has no author to request the approval.")
    definition = approval_definition(rule, execution.action["approvers"])
    return run_create(
        actor=actor_for(rule),
        definition=definition,
        title=f"{rule.name}: {describe({**execution.action, 'risky': False})}"[:200],
        incident=execution.incident,
        trigger_key=f"automation-approval:{execution.pk}",
        owner=rule.created_by,
    )
