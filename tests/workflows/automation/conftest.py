import pytest

from incidents.services import incident_create
from tests.incidents.factories import ServiceFactory
from workflows.automation.services import rule_create


@pytest.fixture
def payments(org):
    return ServiceFactory(organization=org, name="Payments", slug="payments")


@pytest.fixture
def make_rule(actor_as):
    """A rule written by the manager; ``make_rule(actions=[...], conditions=...)``."""

    def make(**values):
        values.setdefault("name", "Page payments on SEV1")
        values.setdefault("trigger", "incident.triggered")
        values.setdefault("actions", [{"type": "set_priority", "priority": "p1"}])
        rule, _secret = rule_create(actor=actor_as("manager"), **values)
        return rule

    return make


@pytest.fixture
def trigger(actor_as, payments):
    """Open an incident as the operator (an ``incident.triggered`` ledger entry)."""

    def make(title="Payment API failing", severity="sev1", service=payments, labels=None):
        return incident_create(
            actor=actor_as("operator"), title=title, severity=severity, service=service, labels=labels or {}
        )

    return make
