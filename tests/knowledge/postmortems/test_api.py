"""The API: drafting from an incident, saving with a base revision, exports, access and XSS."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from pypdf import PdfReader

from knowledge.postmortems.exports import to_markdown
from knowledge.postmortems.models import Postmortem
from knowledge.postmortems.selectors import verify_postmortem
from tests.ledger import entries


@pytest.fixture
def incident(resolved_incident):
    return resolved_incident()


def test_draft_from_incident_then_get(api_as, incident):
    api = api_as("operator")
    response = api.post(f"/api/v1/incidents/{incident.pk}/postmortem/")
    assert response.status_code == 201, response.content
    body = response.json()
    postmortem = Postmortem.objects.get(pk=body["id"])
    assert [row["sequence"] for row in body["timeline"]] == list(
        entries(target=incident).values_list("sequence", flat=True)
    )
    assert body["timeline"][0]["entry_hash"] == entries(target=incident).first().entry_hash
    again = api.post(f"/api/v1/incidents/{incident.pk}/postmortem/")
    assert again.status_code == 200 and again.json()["id"] == postmortem.pk
    listed = api.get("/api/v1/postmortems/").json()
    assert [p["id"] for p in listed["results"]] == [postmortem.pk]


def test_open_incident_is_a_400(api_as, actor_as, service):
    from incidents import services as incident_services

    open_one = incident_services.incident_create(actor=actor_as("operator"), title="open", service=service)
    response = api_as("operator").post(f"/api/v1/incidents/{open_one.pk}/postmortem/")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    assert not Postmortem.objects.exists()


def test_save_with_stale_base_revision_is_409(api_as, drafted):
    api = api_as("operator")
    ok = api.patch(
        f"/api/v1/postmortems/{drafted.pk}/", {"base_revision": 1, "root_cause": "Pool"}, format="json"
    )
    assert ok.status_code == 200 and ok.json()["revision"] == 2
    stale = api.patch(
        f"/api/v1/postmortems/{drafted.pk}/", {"base_revision": 1, "root_cause": "Other"}, format="json"
    )
    assert stale.status_code == 409
    assert stale["Content-Type"].startswith("application/problem+json")
    drafted.refresh_from_db()
    assert drafted.root_cause == "Pool"
    missing = api.patch(f"/api/v1/postmortems/{drafted.pk}/", {"root_cause": "x"}, format="json")
    assert missing.status_code == 400


@pytest.mark.parametrize(("role", "expected"), [("viewer", 403), ("operator", 200), ("outsider", 404)])
def test_who_may_edit(api_as, drafted, role, expected):
    response = api_as(role).patch(
        f"/api/v1/postmortems/{drafted.pk}/", {"base_revision": 1, "summary": "mine"}, format="json"
    )
    assert response.status_code == expected
    drafted.refresh_from_db()
    assert (drafted.summary == "mine") == (expected == 200)


def test_outsider_cannot_read_or_draft(api_as, drafted):
    outsider = api_as("outsider")
    assert outsider.get(f"/api/v1/postmortems/{drafted.pk}/").status_code == 404
    assert outsider.get(f"/api/v1/postmortems/{drafted.pk}/export/markdown/").status_code == 404
    assert outsider.post(f"/api/v1/incidents/{drafted.incident_id}/postmortem/").status_code == 404
    assert outsider.get("/api/v1/postmortems/").json()["results"] == []
    assert api_as("viewer").get(f"/api/v1/postmortems/{drafted.pk}/").status_code == 200


def test_action_items_and_review_over_the_api(api_as, drafted, users):
    operator, manager = api_as("operator"), api_as("manager")
    added = operator.post(
        f"/api/v1/postmortems/{drafted.pk}/action-items/",
        {
            "title": "Alert on pool saturation",
            "assignee": users["operator"].pk,
            "due_at": "2030-01-01T00:00:00Z",
        },
        format="json",
    )
    assert added.status_code == 201, added.content
    item = added.json()["action_items"][0]
    assert (item["title"], item["assignee"], item["status"]) == (
        "Alert on pool saturation",
        "operator",
        "open",
    )
    assert operator.post(f"/api/v1/tasks/{item['task']}/complete/").status_code == 200
    assert operator.get(f"/api/v1/postmortems/{drafted.pk}/").json()["action_items"][0]["status"] == "done"
    submitted = operator.post(f"/api/v1/postmortems/{drafted.pk}/submit/")
    assert submitted.json()["status"] == "in_review" and submitted.json()["review"]["state"] == "IN_REVIEW"
    assert (
        operator.post(
            f"/api/v1/postmortems/{drafted.pk}/review/", {"event": "publish"}, format="json"
        ).status_code
        == 403
    )
    published = manager.post(f"/api/v1/postmortems/{drafted.pk}/review/", {"event": "publish"}, format="json")
    assert published.json()["status"] == "published"
    locked = operator.patch(
        f"/api/v1/postmortems/{drafted.pk}/", {"base_revision": 1, "summary": "x"}, format="json"
    )
    assert locked.status_code == 409


def test_exports(api_as, drafted, actor_as):
    from knowledge.postmortems.services import postmortem_save

    postmortem_save(
        actor=actor_as("operator"),
        postmortem=drafted,
        base_revision=1,
        sections={"root_cause": "Pool størrelse too small"},
    )
    api = api_as("viewer")
    md = api.get(f"/api/v1/postmortems/{drafted.pk}/export/markdown/")
    assert md.status_code == 200 and md["Content-Type"].startswith("text/markdown")
    text = md.content.decode()
    assert text.startswith(f"# {drafted.title}\n")
    assert "## Root cause\n\nPool størrelse too small" in text
    for row in drafted.timeline.all():
        assert f"| {row.sequence} | `{row.entry_hash}` |" in text
    pdf = api.get(f"/api/v1/postmortems/{drafted.pk}/export/pdf/")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    extracted = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert drafted.title in extracted
    assert "Pool størrelse too small" in extracted


def test_xss_in_sections_is_neutralized(api_as, drafted):
    from knowledge.postmortems.templatetags_safe import rendered_sections

    payload = "<script>alert(1)</script><img src=x onerror=alert(2)>[x](javascript:alert(3))"
    api_as("operator").patch(
        f"/api/v1/postmortems/{drafted.pk}/", {"base_revision": 1, "summary": payload}, format="json"
    )
    drafted.refresh_from_db()
    html = rendered_sections(drafted)["summary"]
    assert "<script" not in html and "onerror" not in html and "javascript:" not in html
    assert drafted.summary == payload  # stored as written, neutralized when shown
    assert "<script>" in to_markdown(drafted)  # the Markdown export is the source, as text


def test_verify_postmortem_command(drafted):
    out = io.StringIO()
    call_command("verify_postmortem", drafted.pk, stdout=out)
    assert f"{drafted.timeline.count()} timeline entries match the ledger" in out.getvalue()
    row = drafted.timeline.first()
    # Tamper with the copy (the ledger itself refuses UPDATE): the check must notice.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE postmortems_timelinerow SET entry_hash = %s WHERE id = %s", ["0" * 64, row.pk])
    result = verify_postmortem(drafted)
    assert not result.ok and result.problems[0].sequence == row.sequence
    with pytest.raises(CommandError):
        call_command("verify_postmortem", drafted.pk, stdout=io.StringIO(), stderr=io.StringIO())
