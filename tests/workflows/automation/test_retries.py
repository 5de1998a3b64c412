"""HTTP actions: signed with the rule's secret, retried from database columns, so a restarted
worker continues where the last one stopped; the remediation hook escalates when it gives up."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from opsplatform.core.webhook_signature import sign
from tests.ledger import entries
from tests.notifications.peers import http_receiver
from workflows.automation.consumer import consume
from workflows.automation.models import AutomationExecution, AutomationRule, ExecutionState
from workflows.automation.runner import LEASE, claim, run_due

pytestmark = pytest.mark.django_db

SECRET = "s3cret-signing-key-of-the-rule"


@pytest.fixture
def receiver():
    with http_receiver() as peer, override_settings(OUTBOUND_ALLOWED_NETWORKS=["127.0.0.0/8"]):
        yield peer


def _verified(request) -> bool:
    timestamp = int(request.headers["x-opsplatform-timestamp"])
    return request.headers["x-opsplatform-signature"] == sign(SECRET, timestamp, request.body)


def test_the_secret_is_encrypted_at_rest(make_rule):
    rule = make_rule(
        actions=[{"type": "webhook", "url": "https://hooks.example.com/x"}], webhook_secret=SECRET
    )
    stored = AutomationRule.objects.get(pk=rule.pk).webhook_secret
    assert stored.startswith("v1.") and SECRET not in stored
    assert not entries("automation.rule.created", target=rule).filter(data__icontains=SECRET).exists()


def test_webhook_retries_survive_a_worker_restart(make_rule, trigger, receiver):
    receiver.respond_with(500, 503, then=200)
    rule = make_rule(
        actions=[{"type": "webhook", "url": receiver.url("/hook"), "retries": 4, "backoff_seconds": 10}],
        webhook_secret=SECRET,
    )
    incident = trigger()
    consume()
    now = timezone.now()
    run_due(now=now)  # attempt 1: 500
    execution = AutomationExecution.objects.get(rule=rule)
    assert (execution.state, execution.attempts, execution.last_error) == (
        ExecutionState.RETRYING,
        1,
        "HTTP 500",
    )
    assert execution.next_attempt_at > now + timedelta(seconds=9)
    run_due(now=now)  # not due yet: nothing sent
    assert len(receiver.requests) == 1

    # A worker claims attempt 2 and dies before sending: the row stays claimed until its lease ends.
    later = execution.next_attempt_at + timedelta(seconds=1)
    assert len(claim(later)) == 1
    run_due(now=later)
    assert len(receiver.requests) == 1
    # A fresh worker (nothing in memory: it reads the row) takes over after the lease.
    run_due(now=later + LEASE + timedelta(seconds=1))  # attempt 3 of the row: 503
    execution.refresh_from_db()
    assert (execution.state, execution.attempts) == (ExecutionState.RETRYING, 3)
    run_due(now=execution.next_attempt_at + timedelta(seconds=1))  # 200
    run_due(now=execution.next_attempt_at + timedelta(hours=2))

    received = receiver.wait_for(3)
    assert len(received) == 3
    assert all(_verified(request) for request in received)
    assert {r.headers["x-opsplatform-delivery"] for r in received} == {execution.idempotency_key}
    assert received[0].json()["incident"]["id"] == incident.pk
    execution.refresh_from_db()
    assert execution.state == ExecutionState.SUCCEEDED
    assert execution.outcome["responses"] == [500, 503, 200]
    assert entries("automation.execution.succeeded", target=rule).count() == 1


def test_remediation_retries_n_times_then_escalates(make_rule, trigger, receiver, payments):
    receiver.respond_with(then=502)
    payments.labels = {"remediation_hook": receiver.url("/restart")}
    payments.save(update_fields=["labels"])
    rule = make_rule(
        name="Payment fails: retry the remediation",
        conditions={"groups": [{"matchers": [{"field": "service", "op": "equals", "value": "payments"}]}]},
        actions=[{"type": "remediate", "retries": 2, "backoff_seconds": 5}],
        webhook_secret=SECRET,
    )
    incident = trigger()
    consume()
    now = timezone.now()
    for step in range(6):
        run_due(now=now + timedelta(minutes=step))
    received = receiver.wait_for(3)
    assert len(received) == 3 and all(_verified(r) for r in received)
    assert {r.path for r in received} == {"/restart"}
    execution = AutomationExecution.objects.get(rule=rule)
    assert execution.state == ExecutionState.FAILED
    assert execution.outcome["escalated"] is True
    assert entries("incident.escalated", target=incident).count() == 1
    assert entries("automation.execution.failed", target=rule).count() == 1


def test_the_ssrf_guard_holds_for_rule_urls(make_rule, trigger):
    rule = make_rule(actions=[{"type": "webhook", "url": "http://127.0.0.1:9/hook", "retries": 0}])
    trigger()
    consume()
    with override_settings(OUTBOUND_ALLOWED_NETWORKS=[]):
        run_due()
    execution = AutomationExecution.objects.get(rule=rule)
    assert execution.state == ExecutionState.FAILED
    assert "OUTBOUND_ALLOWED_NETWORKS" in execution.last_error
