"""Workflows for a demo organization: change requests in every state of the built-in template (one
waiting with one of its two approvals), a few tasks (one overdue), and the response playbook of
each SEV1/SEV2 incident the incident seed opened (its first task ticked done), so incident pages
show their workflow card.

Idempotent: nothing is added once the organization has change-request runs. Everything goes through
the services, so the runs have their ledger timelines.
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from opsplatform.core.actors import Actor
from workflows.builtins import CHANGE_REQUEST
from workflows.models import (
    ApprovalRequest,
    ApprovalStatus,
    Task,
    TaskStatus,
    WorkflowDefinition,
    WorkflowRun,
)
from workflows.services.approvals import decide
from workflows.services.definitions import install_builtins
from workflows.services.runs import run_create, transition
from workflows.services.task_items import task_complete, task_create
from workflows.ticks import run_playbook_tick

FIELDS = {
    "summary": "Move the payments database to PostgreSQL 16",
    "plan": "1. Replica on 16\n2. Switch over in the window\n3. Watch error rates for 30 min",
    "rollback_plan": "Switch back to the old primary (kept read-only for 24 h).",
    "window": "Tuesday 06:00 to 07:00 UTC",
}
# title -> events after creation ("approve" = the two approvals of the gate)
RUNS = [
    ("Rotate the TLS certificates of the edge proxies", []),
    ("Upgrade PostgreSQL to 16 on the payments cluster", ["submit", "approve_one"]),
    ("Raise the checkout rate limit to 400 rps", ["submit", "approve"]),
    ("Move DNS to the new provider", ["submit", "approve", "start"]),
    ("Enable HTTP/3 on the CDN", ["submit", "approve", "start", "complete"]),
    ("Drop the legacy orders table", ["submit", "reject"]),
    ("Migrate cron jobs to the scheduler", ["cancel"]),
]


def _decide(run, people, org, verdicts):
    request = ApprovalRequest.objects.get(run=run, status=ApprovalStatus.PENDING)
    for role, verdict, comment in verdicts:
        decide(actor=Actor.for_member(people[role], org), approval=request, verdict=verdict, comment=comment)


@transaction.atomic
def seed_workflows(org, people: dict) -> None:
    install_builtins(org)
    definition = WorkflowDefinition.objects.get(organization=org, key=CHANGE_REQUEST)
    if WorkflowRun.objects.filter(version__definition=definition).exists():
        return
    operator = Actor.for_member(people["operator"], org)
    for title, events in RUNS:
        run = run_create(actor=operator, definition=definition, title=title, fields=FIELDS)
        for event in events:
            if event == "approve_one":
                _decide(run, people, org, [("manager", "approve", "Looks safe.")])
            elif event == "approve":
                _decide(run, people, org, [("manager", "approve", "Looks safe."), ("admin", "approve", "")])
            elif event == "reject":
                _decide(run, people, org, [("admin", "reject", "Still read by the reporting job.")])
            else:
                extra = {"outcome": "Done, no customer impact."} if event == "complete" else None
                run = transition(actor=operator, run=run, event=event, fields=extra)
            run.refresh_from_db()
    now = timezone.now()
    for title, due in [
        ("Review the on-call handover notes", now + timedelta(hours=4)),
        ("Renew the status page domain", now - timedelta(hours=2)),
        ("Write the Q3 capacity plan", now + timedelta(days=5)),
    ]:
        task_create(actor=operator, title=title, assignee=people["operator"], due_at=due)
    run_playbook_tick()
    playbook = WorkflowRun.objects.filter(organization=org, incident__isnull=False).order_by("-id").first()
    first = (
        Task.objects.filter(run=playbook, status=TaskStatus.OPEN).order_by("id").first() if playbook else None
    )
    if first is not None:
        task_complete(actor=operator, task=first)
