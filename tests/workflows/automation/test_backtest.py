"""The backtest reads the ledger and changes nothing: no rows, no ledger entries, no requests."""

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.test import override_settings

from audit.models import LedgerEntry
from tests.notifications.peers import http_receiver
from workflows.automation.services import backtest

pytestmark = pytest.mark.django_db


def _row_counts():
    return {model._meta.label: model.objects.count() for model in apps.get_models() if model._meta.managed}


def test_backtest_shows_what_would_have_fired_without_side_effects(make_rule, trigger, actor_as):
    with http_receiver() as receiver, override_settings(OUTBOUND_ALLOWED_NETWORKS=["127.0.0.0/8"]):
        sev1 = [trigger(f"sev1 {n}") for n in range(3)]
        trigger("minor", severity="sev4")
        rule = make_rule(
            conditions={"groups": [{"matchers": [{"field": "severity", "op": "equals", "value": "sev1"}]}]},
            actions=[
                {"type": "webhook", "url": receiver.url()},
                {"type": "escalate"},
                {"type": "notify", "people": {"roles": ["owner"]}},
            ],
        )
        before, ledger_before = _row_counts(), LedgerEntry.objects.count()
        result = backtest(actor=actor_as("viewer"), rule=rule, days=7)
        assert _row_counts() == before
        assert LedgerEntry.objects.count() == ledger_before
        assert receiver.requests == []
    assert result["events_scanned"] == 4
    assert result["fired"] == 3
    assert result["would_run"] == 9
    assert sum(day["count"] for day in result["per_day"]) == 3
    assert sorted(s["incident"] for s in result["samples"]) == sorted(i.pk for i in sev1)
    assert result["actions"][1] == "Escalate now"


def test_backtest_applies_once_per_incident(make_rule, trigger, actor_as):
    from incidents.services import incident_acknowledge, incident_reopen, incident_resolve

    incident = trigger()
    for _ in range(2):
        incident_acknowledge(actor=actor_as("operator"), incident=incident)
        incident_resolve(actor=actor_as("operator"), incident=incident)
        incident_reopen(actor=actor_as("operator"), incident=incident)
    rule = make_rule(trigger="incident.acknowledged", once_per_incident=True)
    assert backtest(actor=actor_as("viewer"), rule=rule, days=1)["fired"] == 1
    rule.once_per_incident = False
    assert backtest(actor=actor_as("viewer"), rule=rule, days=1)["fired"] == 2


@pytest.mark.parametrize("days", [0, 91, "7", True, None])
def test_backtest_refuses_bad_days(make_rule, actor_as, days):
    with pytest.raises(ValidationError):
        backtest(actor=actor_as("viewer"), rule=make_rule(), days=days)
