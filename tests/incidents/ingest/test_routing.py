"""Routing rules: ordered, first match wins; route (service, team, severity, priority, labels), drop,
suppress; matchers on labels, severity, source, title and status with equals, regex and exists."""

import pytest

from incidents.ingest.alert_event import AlertEvent, EventAction
from incidents.ingest.matching import matches, validate_matchers
from incidents.ingest.services import routing_rule_create, routing_rules_reorder
from incidents.models import Alert, Incident, Priority, RawPayload, Severity
from tests.incidents.factories import ServiceFactory
from tests.incidents.ingest.payloads import (
    alertmanager,
    am_alert,
    am_url,
    pd_trigger,
    post,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def am(make_integration):
    return make_integration("alertmanager", grouping=False)


@pytest.fixture
def payments(org, team):
    return ServiceFactory(organization=org, name="Payments", slug="payments", owner_team=team)


def rule(actor_as, integration, name, **values):
    return routing_rule_create(actor=actor_as("manager"), integration=integration, name=name, **values)


def test_the_payment_rule_from_the_seeds(client, am, payments, team, actor_as):
    """ "If service=payment and status=firing → create incident for the payment team at SEV1"."""
    integration, key = am
    rule(
        actor_as,
        integration,
        "Payment alerts page the payment team",
        matchers=[
            {"field": "labels.service", "op": "equals", "value": "payment"},
            {"field": "status", "op": "equals", "value": "firing"},
        ],
        route_service=payments,
        set_severity=Severity.SEV1,
        set_priority=Priority.P1,
        add_labels={"routed": "payment-rule"},
    )
    post(client, am_url(key), alertmanager(am_alert("aaaa000000000001", severity="warning")))
    post(
        client, am_url(key), alertmanager(am_alert("aaaa000000000002", service="search", severity="warning"))
    )

    paged = Incident.objects.get(dedup_key="aaaa000000000001")
    other = Incident.objects.get(dedup_key="aaaa000000000002")
    assert (paged.service, paged.team, paged.severity, paged.priority) == (
        payments,
        team,
        Severity.SEV1,
        Priority.P1,
    )
    assert paged.alerts.get().labels["routed"] == "payment-rule"
    assert other.service == integration.service and other.severity == Severity.SEV3


def test_first_match_wins_and_order_can_change(client, am, payments, actor_as):
    integration, key = am
    first = rule(actor_as, integration, "everything sev4", set_severity=Severity.SEV4)
    second = rule(
        actor_as,
        integration,
        "payments sev2",
        matchers=[{"field": "labels.service", "op": "equals", "value": "payment"}],
        set_severity=Severity.SEV2,
    )
    post(client, am_url(key), alertmanager(am_alert("aaaa000000000001")))
    routing_rules_reorder(actor=actor_as("manager"), integration=integration, rule_ids=[second.pk, first.pk])
    post(client, am_url(key), alertmanager(am_alert("aaaa000000000002")))

    assert Incident.objects.get(dedup_key="aaaa000000000001").severity == Severity.SEV4
    assert Incident.objects.get(dedup_key="aaaa000000000002").severity == Severity.SEV2


def test_drop_counts_and_records_nothing_else(client, am, actor_as):
    integration, key = am
    rule(
        actor_as,
        integration,
        "drop watchdog",
        matchers=[{"field": "title", "op": "regex", "value": "(?i)^watchdog"}],
        action="drop",
    )
    alert = am_alert("aaaa000000000001")
    alert["annotations"]["summary"] = "Watchdog: alerting pipeline is alive"

    response = post(client, am_url(key), alertmanager(alert))

    assert response.json()["outcomes"]["dropped"] == 1
    assert not Incident.objects.exists() and not Alert.objects.exists()
    assert RawPayload.objects.get().result[0]["outcome"] == "dropped"


def test_suppress_records_the_alert_without_an_incident(client, am, actor_as):
    integration, key = am
    rule(
        actor_as,
        integration,
        "staging is quiet",
        matchers=[{"field": "labels.env", "op": "exists"}],
        action="suppress",
    )

    post(client, am_url(key), alertmanager(am_alert("aaaa000000000001", env="staging")))
    post(client, am_url(key), alertmanager(am_alert("aaaa000000000001", env="staging")))

    assert not Incident.objects.exists()
    alert = Alert.objects.get()
    assert alert.suppressed and alert.standalone and alert.incident is None
    assert alert.suppressed_reason == "rule: staging is quiet" and alert.occurrences == 1


def test_negated_matchers(make_integration, client, actor_as):
    integration, key = make_integration("pagerduty")
    rule(
        actor_as,
        integration,
        "not from prod hosts: sev4",
        matchers=[{"field": "source", "op": "regex", "value": "^prod-", "negate": True}],
        set_severity=Severity.SEV4,
    )
    post(client, "/v2/enqueue", pd_trigger(key, dedup_key="a"))
    post(client, "/v2/enqueue", pd_trigger(key, dedup_key="b", source="staging-db-1"))

    assert Incident.objects.get(dedup_key="a").severity == Severity.SEV1
    assert Incident.objects.get(dedup_key="b").severity == Severity.SEV4


def test_a_rule_cannot_route_to_another_organizations_service(am, actor_as, other_service):
    from django.core.exceptions import ValidationError

    integration, _ = am
    with pytest.raises(ValidationError) as exc:
        rule(actor_as, integration, "steal", route_service=other_service)
    assert "route_service" in exc.value.message_dict


def test_matcher_semantics():
    event = AlertEvent(
        action=EventAction.TRIGGER,
        dedup_key="k",
        title="Disk full on db-1",
        severity="sev2",
        labels={"env": "prod"},
    )
    assert matches([], event)
    assert matches([{"field": "labels.env", "op": "equals", "value": "prod"}], event)
    assert not matches([{"field": "labels.env", "op": "equals", "value": "Prod"}], event)
    assert matches([{"field": "title", "op": "regex", "value": "db-\\d"}], event)
    assert matches([{"field": "labels.team", "op": "exists", "negate": True}], event)
    assert not matches([{"field": "labels.team", "op": "regex", "value": ".*"}], event)
    assert matches([{"field": "severity", "op": "equals", "value": "sev1"}], event, severity="sev1")
    assert matches([{"field": "status", "op": "equals", "value": "firing"}], event)


@pytest.mark.parametrize(
    "matchers",
    [
        {"field": "x"},
        [{"field": "nope", "op": "equals", "value": "x"}],
        [{"field": "labels.", "op": "equals", "value": "x"}],
        [{"field": "title", "op": "like", "value": "x"}],
        [{"field": "title", "op": "regex", "value": "("}],
        [{"field": "title", "op": "equals", "value": 3}],
        [{"field": "title", "op": "equals", "value": "x", "extra": 1}],
        [{"field": "title", "op": "equals", "value": "x"}] * 21,
    ],
)
def test_bad_matchers_are_refused(matchers):
    assert validate_matchers(matchers)
