import pytest

from opsplatform.core.capabilities import Role
from tests.accounts.factories import MembershipFactory
from workflows.builtins import CHANGE_REQUEST, INCIDENT_PLAYBOOK
from workflows.models import WorkflowDefinition
from workflows.services.runs import run_create, transition

READY = {
    "summary": "Rotate the database password",
    "plan": "1. rotate 2. deploy",
    "rollback_plan": "restore old",
}


@pytest.fixture
def change_request(org):
    return WorkflowDefinition.objects.get(organization=org, key=CHANGE_REQUEST)


@pytest.fixture
def playbook(org):
    return WorkflowDefinition.objects.get(organization=org, key=INCIDENT_PLAYBOOK)


@pytest.fixture
def second_manager(org):
    """A second manager, so the change request's two-approval gate can pass without the owner."""
    return MembershipFactory(organization=org, role=Role.MANAGER, user__username="manager2").user


@pytest.fixture
def new_change(actor_as, change_request, users):
    def make(role="operator", title="Rotate the DB password", fields=READY):
        return run_create(actor=actor_as(role), definition=change_request, title=title, fields=dict(fields))

    return make


@pytest.fixture
def pending_change(new_change, actor_as, second_manager):
    """A change request submitted by the operator, waiting for two approvals."""
    run = new_change()
    return transition(actor=actor_as("operator"), run=run, event="submit")
