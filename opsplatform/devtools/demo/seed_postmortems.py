"""Two published postmortems for a demo organization, each with action items (one done), drafted
from incidents that went through their life by the services (the bulk-made demo history has no
ledger timeline to draft from) and reviewed through the postmortem_review workflow. Idempotent:
nothing is added once the organization has a postmortem."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from incidents import services as incident_services
from incidents.models import Service
from knowledge.postmortems import services
from knowledge.postmortems.models import Postmortem
from opsplatform.core.actors import Actor
from workflows.services.task_items import task_complete

SECTIONS = {
    "summary": "Requests failed for part of the customers until the change was rolled back.",
    "impact": "Roughly **4%** of requests answered 5xx during the impact window.",
    "root_cause": "A configuration change lowered a connection limit below the peak load.",
    "contributing_factors": "- No alert on pool saturation\n- The change skipped the canary stage",
    "went_well": "Paging reached the on-call engineer within a minute; the rollback was rehearsed.",
    "lessons": "Limits belong in reviewed configuration, with a canary and a saturation alert.",
}
INCIDENTS = [
    ("Checkout 5xx after config push", "DB connection pool exhausted on checkout-api"),
    ("Search latency above 2 s", "Search replicas evicted by a misconfigured memory limit"),
]
ACTIONS = [
    ("Alert on connection pool saturation", "operator", True),
    ("Canary every config change", "manager", False),
]


@transaction.atomic
def seed_postmortems(org, people: dict) -> None:
    if Postmortem.objects.filter(organization=org).exists():
        return
    operator = Actor.for_member(people["operator"], org)
    manager = Actor.for_member(people["manager"], org)
    service = Service.objects.filter(organization=org).order_by("pk").first()
    for title, note in INCIDENTS:
        incident = incident_services.incident_create(
            actor=operator, title=title, service=service, severity="sev2", source="demo"
        )
        incident_services.incident_acknowledge(actor=operator, incident=incident)
        incident_services.incident_add_note(actor=manager, incident=incident, body=note)
        incident = incident_services.incident_resolve(actor=operator, incident=incident, note="Rolled back.")
        postmortem, _ = services.postmortem_draft(actor=operator, incident=incident)
        postmortem = services.postmortem_save(
            actor=operator, postmortem=postmortem, base_revision=postmortem.revision, sections=SECTIONS
        )
        for action, owner, done in ACTIONS:
            item = services.action_item_add(
                actor=operator,
                postmortem=postmortem,
                title=action,
                assignee=people[owner],
                due_at=timezone.now() + timedelta(days=14),
            )
            if done:
                task_complete(actor=operator, task=item.task)
        postmortem = services.postmortem_submit(actor=operator, postmortem=postmortem)
        services.postmortem_review_event(actor=manager, postmortem=postmortem, event="publish")
