"""Every organization has the built-in templates; they are valid state machines."""

import pytest

from tests.accounts.factories import OrganizationFactory
from workflows.builtins import BUILTINS
from workflows.models import WorkflowDefinition
from workflows.spec import parse

pytestmark = pytest.mark.django_db


def test_a_new_organization_gets_every_builtin_template_once():
    organization = OrganizationFactory()
    organization.save()  # a later save installs nothing more

    definitions = WorkflowDefinition.objects.filter(organization=organization)

    assert sorted(definitions.values_list("key", flat=True)) == sorted(BUILTINS)
    assert all(d.versions.count() == 1 for d in definitions)


@pytest.mark.parametrize("key", sorted(BUILTINS))
def test_builtin_specs_parse(key):
    spec = parse(BUILTINS[key][2])

    assert spec.initial
    assert any(s.terminal for s in spec.states)


def test_change_request_gate_asks_two_of_managers_admins_owners():
    spec = parse(BUILTINS["change_request"][2])
    gate = spec.gate_from("PENDING_APPROVAL").gate

    assert (gate.rule, gate.required) == ("n_of_m", 2)
    assert set(gate.approvers.roles) == {"manager", "admin", "owner"}
    assert gate.reject_to == "REJECTED"


def test_postmortem_review_publishes_through_a_gate_that_sends_rejections_back_to_draft():
    spec = parse(BUILTINS["postmortem_review"][2])
    gated = spec.gate_from("IN_REVIEW")
    assert (gated.event, gated.target) == ("publish", "PUBLISHED")
    assert (gated.gate.rule, gated.gate.required, gated.gate.reject_to) == ("n_of_m", 1, "DRAFT")
    assert set(gated.gate.approvers.roles) == {"manager", "admin", "owner"}
    assert not gated.gate.ends_on_reject
