"""New incidents take their SLA policy from the process-local lookup cache (``lookup_cache.sla_policy``):
a storm's thousands of new incidents of one shape ask the database once, and every saved, created or
deleted policy reaches this process at once and another within the generation check."""

import time
from datetime import timedelta

import pytest

from incidents.ingest import lookup_cache, new_incidents
from incidents.ingest.lookup_cache import GENERATION_CHECK_SECONDS, LookupCache
from incidents.models import Incident
from incidents.services.sla import sla_policy_delete, sla_policy_save
from incidents.sla.policy import policy_for
from tests.incidents.factories import SLAPolicyFactory
from tests.incidents.ingest.payloads import pd_trigger, post

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("lookup_cache_on")]


@pytest.fixture
def lookups(monkeypatch):
    """The policy lookups that went to the database."""
    calls = []

    def counted(incident):
        calls.append((incident.service_id, incident.severity))
        return policy_for(incident)

    monkeypatch.setattr(new_incidents, "policy_for", counted)
    return calls


@pytest.fixture
def pd(make_integration):
    return make_integration("pagerduty")[1]


def _open(client, key, dedup_key) -> Incident:
    response = post(client, "/v2/enqueue", pd_trigger(key, dedup_key=dedup_key))
    assert response.status_code == 202, response.content
    return Incident.objects.get(dedup_key=dedup_key)


def _ack_target(incident: Incident) -> timedelta:
    return incident.ack_due_at - incident.created_at


def test_new_incidents_of_one_shape_ask_for_their_policy_once(client, org, pd, lookups):
    policy = SLAPolicyFactory(organization=org, ack_target_minutes=15)
    opened = [_open(client, pd, f"disk-{n}") for n in range(3)]
    assert len(lookups) == 1
    for incident in opened:
        assert incident.sla_policy_id == policy.pk
        assert _ack_target(incident) == timedelta(minutes=15)


def test_no_policy_is_remembered_too(client, pd, lookups):
    opened = [_open(client, pd, f"disk-{n}") for n in range(2)]
    assert len(lookups) == 1
    assert [incident.ack_due_at for incident in opened] == [None, None]


def test_a_changed_policy_applies_to_the_next_incident(client, org, pd, actor_as, lookups):
    policy = SLAPolicyFactory(organization=org, ack_target_minutes=15)
    assert _ack_target(_open(client, pd, "before")) == timedelta(minutes=15)
    policy.ack_target_minutes = 5
    sla_policy_save(actor=actor_as("manager"), policy=policy)
    assert _ack_target(_open(client, pd, "after")) == timedelta(minutes=5)
    assert len(lookups) == 2


def test_a_new_more_specific_policy_and_a_deleted_one_apply_at_once(client, org, service, pd, actor_as):
    SLAPolicyFactory(organization=org, name="default", ack_target_minutes=15)
    assert _ack_target(_open(client, pd, "first")) == timedelta(minutes=15)
    specific = sla_policy_save(
        actor=actor_as("manager"),
        policy=SLAPolicyFactory.build(organization=org, service=service, name="svc", ack_target_minutes=3),
    )
    second = _open(client, pd, "second")
    assert second.sla_policy_id == specific.pk and _ack_target(second) == timedelta(minutes=3)
    sla_policy_delete(actor=actor_as("manager"), policy=specific)
    assert _ack_target(_open(client, pd, "third")) == timedelta(minutes=15)


def test_another_process_sees_a_policy_change_within_the_generation_check(org, service, actor_as):
    policy = SLAPolicyFactory(organization=org, ack_target_minutes=15)
    elsewhere = LookupCache()  # another web process's cache
    probe = Incident(organization_id=org.pk, service_id=service.pk, severity="sev3")
    reads = []

    def lookup():
        reads.append(1)
        return policy_for(probe)

    assert elsewhere.sla_policy(org.pk, service.pk, "sev3", lookup).ack_target_minutes == 15
    assert elsewhere.sla_policy(org.pk, service.pk, "sev3", lookup).ack_target_minutes == 15
    assert len(reads) == 1
    policy.ack_target_minutes = 7
    sla_policy_save(actor=actor_as("manager"), policy=policy)
    time.sleep(GENERATION_CHECK_SECONDS * 1.5)
    assert elsewhere.sla_policy(org.pk, service.pk, "sev3", lookup).ack_target_minutes == 7
    assert len(reads) == 2


def test_each_request_gets_its_own_copy_of_the_policy(org, service):
    SLAPolicyFactory(organization=org)
    probe = Incident(organization_id=org.pk, service_id=service.pk, severity="sev3")
    first = lookup_cache.cache.sla_policy(org.pk, service.pk, "sev3", lambda: policy_for(probe))
    second = lookup_cache.cache.sla_policy(org.pk, service.pk, "sev3", lambda: policy_for(probe))
    assert first.pk == second.pk and first is not second
