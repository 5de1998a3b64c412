"""Ids from request input: ``"²".isdigit()`` is true but ``int("²")`` raises. Every page, API and
admin surface of the app answers such input with a 4xx (or ignores the bad filter), never a 500."""

import pytest

from incidents.models import Status
from opsplatform.core.ids import parse_id
from tests.incidents.api.helpers import assert_problem
from tests.incidents.test_admin import staff_as  # noqa: F401  (fixture)
from tests.ledger import entries

BAD = ["²", "٣", " 1", "1 ", "+1", "-1", "1e3", "9" * 30, ""]


@pytest.mark.parametrize("value", BAD)
def test_parse_id_takes_ascii_digits_only(value):
    assert parse_id(value) is None


def test_parse_id_reads_ids():
    assert parse_id("42") == 42


@pytest.mark.parametrize("q", ["²", "#²", "٣", "#" + "9" * 30])
def test_search_with_unicode_digits_is_a_text_search(client_as, api_as, incident, q):
    page = client_as("operator").get("/incidents/", {"q": q})
    assert page.status_code == 200
    api = api_as("operator").get("/api/v1/incidents/", {"q": q})
    assert api.status_code == 200
    assert api.json()["results"] == []


def test_search_by_id_still_works(client_as, api_as, incident):
    api = api_as("operator").get("/api/v1/incidents/", {"q": f"#{incident.pk}"})
    assert [row["id"] for row in api.json()["results"]] == [incident.pk]


@pytest.mark.parametrize(
    "path", ["/api/v1/routing-rules/?integration=", "/api/v1/maintenance-windows/?service="]
)
def test_api_id_filters_refuse_unicode_digits(api_as, path):
    assert_problem(api_as("admin").get(path + "²"), 400)


def test_bulk_action_ignores_unicode_ids(client_as, incident):
    response = client_as("operator").post(
        "/incidents/bulk/", {"action": "acknowledge", "ids": ["²", str(incident.pk)]}
    )
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.status == Status.ACKNOWLEDGED
    assert entries("incident.acknowledged", target=incident).count() == 1


def test_admin_action_with_unicode_ids_changes_nothing(staff_as, incident):  # noqa: F811
    response = staff_as("manager").post(
        "/admin/incidents/incident/", {"action": "acknowledge", "_selected_action": ["²", str(incident.pk)]}
    )
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.status == Status.TRIGGERED
    assert entries("incident.acknowledged", target=incident).count() == 0


@pytest.mark.parametrize("path", ["/admin/incidents/integration/", "/admin/incidents/routingrule/"])
def test_other_admin_actions_refuse_unicode_ids(staff_as, path):  # noqa: F811
    response = staff_as("manager").post(path, {"action": "delete_selected", "_selected_action": ["²"]})
    assert response.status_code == 302
