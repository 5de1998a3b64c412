"""Pages: the rules list, a rule's page with executions and backtest, the form; viewer 403, outsider 404."""

import pytest

from tests.workflows.automation.forms import rule_post
from workflows.automation.consumer import consume
from workflows.automation.models import AutomationRule

pytestmark = pytest.mark.django_db

ACTIONS = '[{"type": "set_priority", "priority": "p1"}]'


def test_list_and_rule_page_show_executions(client_as, make_rule, trigger):
    rule = make_rule()
    incident = trigger()
    consume()
    page = client_as("viewer").get("/automation/")
    assert page.status_code == 200
    html = page.content.decode()
    assert rule.name in html and f"#{incident.pk}" in html and "New rule" not in html
    detail = client_as("viewer").get(f"/automation/{rule.pk}/").content.decode()
    assert "Set priority to p1" in detail and 'id="execution-list"' in detail
    assert "Show the secret" not in detail  # only managers see the signing secret
    assert "Show the secret" in client_as("manager").get(f"/automation/{rule.pk}/").content.decode()


def test_backtest_form(client_as, make_rule, trigger):
    rule = make_rule()
    trigger()
    response = client_as("viewer").post(
        f"/automation/{rule.pk}/backtest/", {"days": 7}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert "Times it would have fired" in response.content.decode()
    bad = client_as("viewer").post(f"/automation/{rule.pk}/backtest/", {"days": 500}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 400


def test_manager_creates_and_edits_a_rule(client_as):
    client = client_as("manager")
    assert "New rule" in client.get("/automation/").content.decode()
    response = client.post(
        "/automation/new/",
        rule_post(name="Bump priority", trigger="incident.triggered", actions=ACTIONS, enabled="on"),
    )
    assert response.status_code == 302
    rule = AutomationRule.objects.get(name="Bump priority")
    assert rule.enabled and rule.actions == [{"type": "set_priority", "priority": "p1"}]
    bad = client.post(
        f"/automation/{rule.pk}/edit/",
        rule_post(name="Bump", trigger="incident.triggered", actions='[{"type": "nope"}]'),
    )
    assert bad.status_code == 400 and "One of" in bad.content.decode()
    assert AutomationRule.objects.get(pk=rule.pk).name == "Bump priority"
    broken = client.post("/automation/new/", rule_post(name="x", trigger="incident.triggered", actions="[{"))
    assert broken.status_code == 400 and "Not valid JSON" in broken.content.decode()


def test_viewer_cannot_write_and_outsider_sees_nothing(client_as, make_rule, trigger):
    rule = make_rule()
    incident = trigger()
    viewer = client_as("viewer")
    assert viewer.get("/automation/new/").status_code == 403
    assert viewer.post(f"/automation/{rule.pk}/edit/", {"name": "x"}).status_code == 403
    assert viewer.post(f"/automation/{rule.pk}/delete/").status_code == 403
    assert AutomationRule.objects.filter(pk=rule.pk).exists()
    outsider = client_as("outsider")
    assert outsider.get(f"/automation/{rule.pk}/").status_code == 404
    assert outsider.post(f"/automation/{rule.pk}/backtest/", {"days": 1}).status_code == 404
    assert outsider.post(f"/automation/{rule.pk}/delete/").status_code == 404
    assert outsider.get(f"/automation/incidents/{incident.pk}/executions/").status_code == 404
    assert rule.name not in outsider.get("/automation/").content.decode()


def test_incident_card(client_as, make_rule, trigger):
    rule = make_rule()
    incident = trigger()
    consume()
    card = client_as("viewer").get(f"/automation/incidents/{incident.pk}/executions/", HTTP_HX_REQUEST="true")
    assert card.status_code == 200
    assert rule.name in card.content.decode()
