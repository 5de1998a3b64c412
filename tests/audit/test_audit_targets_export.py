"""The audit log names its targets as people read them, pages with the shared cursor links, and exports
the filtered entries as CSV (same filters, same permission)."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.services import record
from incidents.services import incident_create
from incidents.services.catalog import service_create, service_delete
from opsplatform.core.actors import Actor
from tests.incidents.factories import ServiceFactory

URL = "/audit/"
EXPORT = "/audit/export.csv"

pytestmark = pytest.mark.django_db


@pytest.fixture
def story(org, other_org, users, actor_as, team):
    """An incident, a service, a person and a deleted service in the ledger of ``org``; a service of
    another organization that an entry of ``org`` points at by id."""
    admin = actor_as("admin")
    payments = service_create(actor=admin, name="Payments API")
    incident = incident_create(actor=actor_as("operator"), title="Disk full on db-1", service=payments)
    record(actor=admin, verb="member.role_changed", target=users["viewer"], data={"role": "viewer"})
    legacy = service_create(actor=admin, name="Legacy billing")
    legacy_pk = legacy.pk
    service_delete(actor=admin, service=legacy)
    foreign = ServiceFactory(organization=other_org, name="Globex secret service", slug="globex-secret")
    record(actor=admin, verb="test.foreign", target_type="incidents.service", target_id=str(foreign.pk))
    return {"incident": incident, "service": payments, "legacy_pk": legacy_pk, "foreign": foreign}


def labels(response) -> dict[str, str]:
    return {f"{e.target_type}:{e.target_id}": e.target_label for e in response.context["page"].entries}


def test_targets_have_readable_names(client_as, story, users):
    response = client_as("manager").get(URL)
    names = labels(response)
    incident, service = story["incident"], story["service"]

    assert names[f"incidents.incident:{incident.pk}"] == f"Incident #{incident.pk} “Disk full on db-1”"
    assert names[f"incidents.service:{service.pk}"] == "Service “Payments API”"
    assert names[f"accounts.user:{users['viewer'].pk}"] == "User viewer"
    # Gone: named from what the ledger recorded about it.
    assert names[f"incidents.service:{story['legacy_pk']}"] == "Service “Legacy billing” (deleted)"
    # Another organization's object is never named, whatever id an entry carries.
    assert names[f"incidents.service:{story['foreign'].pk}"] == f"Service #{story['foreign'].pk} (deleted)"
    html = response.content.decode()
    assert f"Incident #{incident.pk} “Disk full on db-1”" in html
    assert "Globex secret service" not in html


def test_naming_costs_one_query_per_target_type(client_as, org, actor_as, story):
    client = client_as("manager")
    with CaptureQueriesContext(connection) as few:
        client.get(URL)
    admin = actor_as("admin")
    for n in range(5):
        service = service_create(actor=admin, name=f"Service {n}")
        incident_create(actor=admin, title=f"Incident {n}", service=service)
    with CaptureQueriesContext(connection) as many:
        client.get(URL)
    assert len(many) == len(few)


def test_pages_use_the_cursor_links(client_as, org):
    for n in range(51):
        record(actor=Actor.system("t"), verb="test.bulk", organization=org, data={"n": n})
    html = client_as("manager").get(URL, {"verb": "test.bulk"}).content.decode()
    assert 'href="/audit/?verb=test.bulk&amp;before=2" rel="next"' in html
    assert 'rel="prev"' not in html


def test_empty_log_says_why(client_as, org):
    html = client_as("manager").get(URL).content.decode()
    assert "Nothing recorded yet" in html
    filtered = client_as("manager").get(URL, {"verb": "nothing.like.this"}).content.decode()
    assert "No entries match" in filtered


def read_csv(response) -> list[dict]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-acme-')
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_csv_export_of_the_filtered_entries(client_as, story):
    client = client_as("manager")
    service = story["service"]
    rows = read_csv(client.get(EXPORT, {"target_type": "incidents.service", "target_id": service.pk}))
    assert [r["verb"] for r in rows] == ["service.created"]
    assert rows[0]["target"] == "Service “Payments API”"
    assert rows[0]["actor"] == "admin" and rows[0]["actor_type"] == "user"
    assert '"name": "Payments API"' in rows[0]["data"]

    everything = read_csv(client.get(EXPORT))
    page = client.get(URL).context["page"].entries
    assert [int(r["sequence"]) for r in everything] == [e.sequence for e in page]
    assert {r["verb"] for r in everything} >= {"incident.triggered", "service.deleted", "member.role_changed"}
    assert "test.foreign" in {r["verb"] for r in everything}
    assert all("Globex secret service" not in r["target"] for r in everything)

    prefix = read_csv(client.get(EXPORT, {"verb": "service."}))
    assert {r["verb"] for r in prefix} == {"service.created", "service.deleted"}
    assert len(prefix) == 3


def test_page_links_the_export_with_its_filters(client_as, story):
    html = client_as("manager").get(URL, {"verb": "service.", "before": "99"}).content.decode()
    assert 'href="/audit/export.csv?verb=service."' in html


@pytest.mark.parametrize(
    ("role", "status"), [("owner", 200), ("manager", 200), ("operator", 403), ("viewer", 403)]
)
def test_export_needs_audit_view(client_as, story, role, status):
    response = client_as(role).get(EXPORT)
    assert response.status_code == status
    if status == 403:
        assert not hasattr(response, "streaming_content")


def test_outsider_exports_only_their_own_organization(client_as, story, other_org):
    record(actor=Actor.system("globex-job"), verb="globex.event", organization=other_org)
    response = client_as("outsider").get(EXPORT)
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["verb"] for r in rows] == ["globex.event"]


def test_export_with_bad_filters_is_a_clear_400(client_as, story):
    response = client_as("manager").get(EXPORT, {"since": "yesterday-ish"})
    assert response.status_code == 400
    assert "From (UTC)" in response.content.decode()
