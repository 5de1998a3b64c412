"""The rule page's conditions editor: matcher rows (group, field, operator, value, not) become the
stored conditions; a stored rule's conditions come back as rows; a row's mistakes are errors on the
page (400) and nothing is written."""

import pytest

from tests.ledger import entries
from tests.workflows.automation.forms import rule_post
from workflows.automation.models import AutomationRule

pytestmark = pytest.mark.django_db

ACTIONS = '[{"type": "set_priority", "priority": "p1"}]'
PAYMENTS_EU_SEV1 = [
    {"group": 1, "field": "service", "value": "payments"},
    {"group": 2, "field": "severity", "value": "sev1"},
    {"group": 2, "field": "labels", "label": "region", "op": "regex", "value": "^eu-"},
    {"group": 2, "field": "title", "op": "exists", "value": "ignored", "negate": True},
]


def _create(client, rows, **extra):
    data = rule_post(name="EU payments", trigger="incident.triggered", actions=ACTIONS, rows=rows, **extra)
    return client.post("/automation/new/", data)


def test_rows_become_grouped_conditions(client_as):
    response = _create(client_as("manager"), PAYMENTS_EU_SEV1, groups={1: "all", 2: "any"})

    assert response.status_code == 302
    rule = AutomationRule.objects.get(name="EU payments")
    assert rule.conditions == {
        "match": "all",
        "groups": [
            {"match": "all", "matchers": [{"field": "service", "op": "equals", "value": "payments"}]},
            {
                "match": "any",
                "matchers": [
                    {"field": "severity", "op": "equals", "value": "sev1"},
                    {"field": "labels.region", "op": "regex", "value": "^eu-"},
                    {"field": "title", "op": "exists", "negate": True},
                ],
            },
        ],
    }
    assert entries("automation.rule.created", target=rule).count() == 1


def test_the_edit_page_shows_the_stored_conditions_as_rows_and_saves_them_back(client_as):
    client = client_as("manager")
    _create(client, PAYMENTS_EU_SEV1, groups={2: "any"}, match="any")
    rule = AutomationRule.objects.get(name="EU payments")
    html = client.get(f"/automation/{rule.pk}/edit/").content.decode()
    assert 'name="matchers-2-label" value="region"' in html
    assert 'name="matchers-0-value" value="payments"' in html
    assert '<option value="any" selected>' in html

    # Remove the label row, move severity into group 1: saved as two groups of one and two rows.
    rows = [dict(r) for r in PAYMENTS_EU_SEV1]
    rows[1]["group"] = 1
    data = rule_post(
        name="EU payments", trigger="incident.triggered", actions=ACTIONS, rows=rows, match="any"
    )
    data["matchers-2-DELETE"] = "on"
    assert client.post(f"/automation/{rule.pk}/edit/", data).status_code == 302
    rule.refresh_from_db()
    assert rule.conditions["match"] == "any"
    assert [[m["field"] for m in g["matchers"]] for g in rule.conditions["groups"]] == [
        ["service", "severity"],
        ["title"],
    ]


def test_no_rows_means_every_event(client_as):
    assert _create(client_as("manager"), [{"field": "", "value": ""}]).status_code == 302
    assert AutomationRule.objects.get(name="EU payments").conditions == {"match": "all", "groups": []}


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"field": "labels", "label": "", "value": "x"}, "Name the label"),
        ({"field": "title", "op": "regex", "value": "(unclosed"}, "Not a regular expression"),
        ({"field": "bogus", "value": "x"}, "Select a valid choice"),
        ({"field": "title", "op": "contains", "value": "x"}, "Select a valid choice"),
        ({"group": 99, "field": "title", "value": "x"}, "Select a valid choice"),
    ],
)
def test_a_bad_row_is_a_form_error_and_nothing_is_written(client_as, row, message):
    response = _create(client_as("manager"), [row])
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not AutomationRule.objects.exists()


def test_a_form_without_its_rows_is_refused(client_as):
    data = rule_post(name="EU payments", trigger="incident.triggered", actions=ACTIONS)
    del data["matchers-TOTAL_FORMS"]
    assert client_as("manager").post("/automation/new/", data).status_code == 400
    assert not AutomationRule.objects.exists()
