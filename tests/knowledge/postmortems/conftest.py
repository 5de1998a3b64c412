import pytest

from incidents import services as incident_services
from incidents.models import Service
from knowledge.postmortems.services import postmortem_draft


@pytest.fixture
def service(org, actor_as):
    return incident_services.service_create(actor=actor_as("manager"), name="Checkout API")


@pytest.fixture
def resolved_incident(actor_as, service):
    """An incident that went through its life: triggered, acknowledged, a note, resolved."""

    def make(title="Checkout errors", note="Rolled back the deploy"):
        operator = actor_as("operator")
        incident = incident_services.incident_create(
            actor=operator, title=title, description="5xx on checkout", service=service, severity="sev2"
        )
        incident_services.incident_acknowledge(actor=operator, incident=incident)
        incident_services.incident_add_note(
            actor=actor_as("manager"), incident=incident, body="DB pool exhausted"
        )
        incident_services.incident_resolve(actor=operator, incident=incident, note=note)
        incident.refresh_from_db()
        return incident

    return make


@pytest.fixture
def drafted(resolved_incident, actor_as):
    postmortem, created = postmortem_draft(actor=actor_as("operator"), incident=resolved_incident())
    assert created
    return postmortem


__all__ = ["Service"]
