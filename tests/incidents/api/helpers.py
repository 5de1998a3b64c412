"""Shared by the incident API tests: paths, role sets and the problem+json check."""

from audit.models import LedgerEntry

INCIDENTS = "/api/v1/incidents/"
PROBLEM = "application/problem+json"
EVERYONE = {"owner", "admin", "manager", "operator", "viewer"}
OPERATOR_UP = EVERYONE - {"viewer"}
ROLES = sorted(EVERYONE)


def detail(incident, action: str = "") -> str:
    return f"{INCIDENTS}{incident.pk}/" + (f"{action}/" if action else "")


def assert_problem(response, status: int, *fields: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    if fields:
        assert set(fields) <= {error["field"] for error in body["errors"]}, body
    return body


def entries(incident, verb: str):
    return LedgerEntry.objects.filter(target_type="incidents.incident", target_id=str(incident.pk), verb=verb)
