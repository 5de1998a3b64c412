"""``/api/v1/incidents/``: who may do what, and tenancy."""

import pytest

from audit.models import LedgerEntry
from incidents import services
from incidents.models import Incident, IncidentNote, Severity, Status
from tests.incidents.api.helpers import (
    EVERYONE,
    INCIDENTS,
    OPERATOR_UP,
    ROLES,
    assert_problem,
    detail,
)

# --- the role matrix ---------------------------------------------------------------------------
# endpoint -> (roles allowed, success status). Each request is built by ``request_for`` below.
ENDPOINTS = {
    "list": (EVERYONE, 200),
    "retrieve": (EVERYONE, 200),
    "timeline": (EVERYONE, 200),
    "notes": (EVERYONE, 200),
    "create": (OPERATOR_UP, 201),
    "acknowledge": (OPERATOR_UP, 200),
    "snooze": (OPERATOR_UP, 200),
    "add_note": (OPERATOR_UP, 201),
    "resolve": (OPERATOR_UP, 200),
    "reopen": (OPERATOR_UP, 200),
    "partial_update": (OPERATOR_UP, 200),
    "escalate": (OPERATOR_UP, 200),
    "reassign": (OPERATOR_UP, 200),
    "responders": (OPERATOR_UP, 200),
    "merge": (OPERATOR_UP, 200),
}
READS = {"list", "retrieve", "timeline", "notes"}


def request_for(name, *, incident, open_incident, users, owner):
    """(method, path, body) of a valid call of the endpoint against ``incident``."""
    if name == "reopen":
        services.incident_resolve(actor=owner, incident=incident)
    simple = {
        "list": ("get", INCIDENTS, None),
        "retrieve": ("get", detail(incident), None),
        "timeline": ("get", detail(incident, "timeline"), None),
        "notes": ("get", detail(incident, "notes"), None),
        "create": ("post", INCIDENTS, {"title": "Disk full on db-2"}),
        "acknowledge": ("post", detail(incident, "acknowledge"), {}),
        "snooze": ("post", detail(incident, "snooze"), {"minutes": 30}),
        "add_note": ("post", detail(incident, "notes"), {"body": "Rolled back the deploy."}),
        "resolve": ("post", detail(incident, "resolve"), {"note": "Fixed."}),
        "reopen": ("post", detail(incident, "reopen"), {}),
        "partial_update": ("patch", detail(incident), {"severity": Severity.SEV1}),
        "escalate": ("post", detail(incident, "escalate"), {}),
        "reassign": ("post", detail(incident, "reassign"), {"assignees": [users["operator"].pk]}),
        "responders": ("post", detail(incident, "responders"), {"responders": [users["manager"].pk]}),
    }
    if name == "merge":
        return "post", detail(incident, "merge"), {"source": open_incident(title="Duplicate page").pk}
    return simple[name]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_role_matrix(api_as, incident, open_incident, users, owner, role, name):
    allowed, success = ENDPOINTS[name]
    method, path, body = request_for(
        name, incident=incident, open_incident=open_incident, users=users, owner=owner
    )
    api = api_as(role)
    ledger_before = LedgerEntry.objects.count()
    rows_before = _rows(incident)

    response = getattr(api, method)(path, body, format="json") if body is not None else api.get(path)

    if role in allowed:
        assert response.status_code == success, response.content
        written = LedgerEntry.objects.count() - ledger_before
        assert written == 0 if name in READS else written >= 1
    else:
        assert_problem(response, 403)
        assert LedgerEntry.objects.count() == ledger_before
        assert _rows(incident) == rows_before


def _rows(incident) -> tuple:
    """What a write through the API could change: the incident's row, its people and notes, the
    incident count (create, merge)."""
    row = Incident.objects.filter(pk=incident.pk).values().get()
    return (
        row,
        sorted(incident.assignees.values_list("pk", flat=True)),
        sorted(incident.responders.values_list("pk", flat=True)),
        IncidentNote.objects.filter(incident=incident).count(),
        Incident.objects.count(),
    )


@pytest.mark.django_db
def test_unauthenticated_is_401_problem(client, incident):
    assert_problem(client.get(INCIDENTS), 401)
    assert_problem(client.post(detail(incident, "acknowledge")), 401)


# --- tenancy -----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(set(ENDPOINTS) - {"list", "create"}))
def test_outsider_gets_404_on_every_detail_route(api_as, incident, open_incident, users, owner, name):
    method, path, body = request_for(
        name, incident=incident, open_incident=open_incident, users=users, owner=owner
    )
    status_before = Incident.objects.get(pk=incident.pk).status
    ledger_before = LedgerEntry.objects.filter(organization=incident.organization).count()
    api = api_as("outsider")

    response = getattr(api, method)(path, body, format="json") if body is not None else api.get(path)

    assert_problem(response, 404)
    assert Incident.objects.get(pk=incident.pk).status == status_before
    assert LedgerEntry.objects.filter(organization=incident.organization).count() == ledger_before


@pytest.mark.django_db
def test_outsider_list_shows_only_their_own_organization(api_as, incident, foreign_incident):
    response = api_as("outsider").get(INCIDENTS)

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [foreign_incident.pk]


@pytest.mark.django_db
def test_member_cannot_reach_a_foreign_incident(api_as, foreign_incident):
    api = api_as("owner")

    assert_problem(api.get(detail(foreign_incident)), 404)
    assert_problem(api.post(detail(foreign_incident, "resolve"), {}, format="json"), 404)
    foreign_incident.refresh_from_db()
    assert foreign_incident.status == Status.TRIGGERED
