"""Automation rules for a demo organization, with executions: one that raised priority and told the
operators about a payments incident, one whose risky escalation waits for an approval, and the
remediation retry of the payments service (fires when its SLA breaches). Once per organization."""

from incidents import services as incident_services
from incidents.models import Service
from opsplatform.core.actors import Actor
from workflows.automation.consumer import consume
from workflows.automation.models import AutomationRule
from workflows.automation.runner import run_due
from workflows.automation.services import rule_create

PAYMENTS = {
    "groups": [{"match": "all", "matchers": [{"field": "service", "op": "regex", "value": "^payments"}]}]
}
SEV1 = {"groups": [{"match": "any", "matchers": [{"field": "severity", "op": "equals", "value": "sev1"}]}]}

RULES = [
    {
        "name": "Payments down: raise priority and tell the operators",
        "trigger": "incident.triggered",
        "conditions": PAYMENTS,
        "actions": [
            {"type": "set_priority", "priority": "p1"},
            {"type": "notify", "people": {"roles": ["operator"]}, "message": "Payments is failing."},
        ],
    },
    {
        "name": "SEV1: escalate now (after approval)",
        "trigger": "incident.triggered",
        "conditions": SEV1,
        "once_per_incident": True,
        "actions": [{"type": "escalate", "risky": True}],
    },
    {
        "name": "Payments SLA breached: retry the remediation hook, then escalate",
        "trigger": "sla.breached",
        "conditions": PAYMENTS,
        "actions": [
            {
                "type": "remediate",
                "url": "https://remediation.payments.example.com/restart",
                "retries": 3,
                "backoff_seconds": 30,
            }
        ],
    },
]


def seed_automation(org, people: dict) -> None:
    if AutomationRule.objects.filter(organization=org).exists():
        return
    manager = Actor.for_member(people["manager"], org)
    for values in RULES:
        rule_create(actor=manager, **values)
    service = Service.objects.filter(organization=org, slug__startswith="payments").first()
    incident_services.incident_create(
        actor=Actor.for_member(people["operator"], org),
        title="Card authorisations failing on Payments API",
        severity="sev1",
        service=service,
    )
    consume()
    run_due()
