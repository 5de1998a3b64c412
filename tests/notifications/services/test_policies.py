"""Escalation policy services: where a policy is attached."""

import pytest

from notifications.models import ServiceEscalation
from tests.notifications.factories import make_policy, step

pytestmark = pytest.mark.django_db


def test_attaching_moves_a_service_between_policies(org, users, service, actor_as):
    first = make_policy(org, step(("user", users["operator"])), name="First", services=[service])
    second = make_policy(org, step(("user", users["manager"])), name="Second", services=[service])
    assert ServiceEscalation.objects.get(service=service).policy == second
    assert not ServiceEscalation.objects.filter(policy=first).exists()
