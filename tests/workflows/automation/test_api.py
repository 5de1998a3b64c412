"""``/api/v1/automation-rules/``: CRUD through the services, backtest, executions; problem+json."""

import pytest

from tests.ledger import entries
from workflows.automation.consumer import consume
from workflows.automation.models import AutomationRule

pytestmark = pytest.mark.django_db

URL = "/api/v1/automation-rules/"
RULE = {
    "name": "Payments SEV1: notify and remediate",
    "trigger": "incident.triggered",
    "conditions": {"groups": [{"matchers": [{"field": "service", "op": "equals", "value": "payments"}]}]},
    "actions": [{"type": "notify", "people": {"roles": ["operator"]}}, {"type": "escalate", "risky": True}],
    "once_per_incident": True,
}


def test_manager_creates_and_the_secret_is_shown_once(api_as):
    response = api_as("manager").post(URL, RULE, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert len(body["webhook_secret"]) >= 32 and body["signed"] is True
    assert body["actions"][1]["approvers"] == {"roles": ["manager", "admin", "owner"]}
    rule = AutomationRule.objects.get(pk=body["id"])
    assert entries("automation.rule.created", target=rule).count() == 1
    again = api_as("viewer").get(f"{URL}{rule.pk}/")
    assert again.status_code == 200 and "webhook_secret" not in again.json()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"actions": [{"type": "explode"}]}, "actions.0.type"),
        ({"actions": []}, "actions"),
        ({"trigger": "incident.exploded"}, "trigger"),
        (
            {"conditions": {"groups": [{"matchers": [{"field": "severity", "op": "regex", "value": "("}]}]}},
            None,
        ),
        ({"actions": [{"type": "webhook", "url": "ftp://example.com/x"}]}, "actions.0.url"),
        ({"actions": [{"type": "set_severity", "severity": "sev9"}]}, "actions.0.severity"),
        ({"trigger": "workflow.state_entered"}, "trigger_state"),
    ],
)
def test_bad_rules_are_problems_with_field_detail(api_as, change, field):
    response = api_as("manager").post(URL, {**RULE, **change}, format="json")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    if field:
        assert field in str(response.json()), response.json()
    assert AutomationRule.objects.count() == 0


def test_patch_backtest_and_executions(api_as, trigger, payments):
    api = api_as("manager")
    rule_id = api.post(URL, RULE, format="json").json()["id"]
    response = api.patch(f"{URL}{rule_id}/", {"enabled": False}, format="json")
    assert response.status_code == 200 and response.json()["enabled"] is False
    api.patch(f"{URL}{rule_id}/", {"enabled": True}, format="json")
    incident = trigger()
    consume()
    executions = api_as("viewer").get(f"{URL}{rule_id}/executions/")
    assert executions.status_code == 200
    rows = executions.json()["results"]
    assert {row["action_type"] for row in rows} == {"notify", "escalate"}
    assert {row["incident"] for row in rows} == {incident.pk}
    backtest = api_as("viewer").post(f"{URL}{rule_id}/backtest/", {"days": 3}, format="json")
    assert backtest.status_code == 200
    assert backtest.json()["fired"] == 1
    listed = api_as("viewer").get(URL).json()["results"]
    assert listed[0]["last_execution"]["incident"] == incident.pk
    bad = api_as("viewer").post(f"{URL}{rule_id}/backtest/", {"days": 0}, format="json")
    assert bad.status_code == 400, bad.content
    assert bad["Content-Type"].startswith("application/problem+json")
    assert "days" in str(bad.json())


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_members_below_manager_cannot_write(api_as, role, make_rule):
    rule = make_rule()
    assert api_as(role).post(URL, RULE, format="json").status_code == 403
    assert api_as(role).patch(f"{URL}{rule.pk}/", {"name": "x"}, format="json").status_code == 403
    assert api_as(role).delete(f"{URL}{rule.pk}/").status_code == 403
    assert AutomationRule.objects.get(pk=rule.pk).name == "Page payments on SEV1"


def test_outsider_gets_404(api_as, make_rule):
    rule = make_rule()
    api = api_as("outsider")
    assert api.get(f"{URL}{rule.pk}/").status_code == 404
    assert api.patch(f"{URL}{rule.pk}/", {"name": "x"}, format="json").status_code == 404
    assert api.post(f"{URL}{rule.pk}/backtest/", {"days": 1}, format="json").status_code == 404
    assert api.get(f"{URL}{rule.pk}/executions/").status_code == 404
    assert api.get(URL).json()["results"] == []


def test_delete(api_as, make_rule):
    rule = make_rule()
    assert api_as("manager").delete(f"{URL}{rule.pk}/").status_code == 204
    assert not AutomationRule.objects.filter(pk=rule.pk).exists()
    assert entries("automation.rule.deleted").count() == 1


def test_schema_documents_the_routes(api_as):
    schema = api_as("viewer").get("/api/v1/schema/")
    assert schema.status_code == 200
    text = schema.content.decode()
    assert "/api/v1/automation-rules/{id}/backtest/" in text
    assert "/api/v1/automation-rules/{id}/executions/" in text
