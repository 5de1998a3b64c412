"""The pages: list, detail with sanitized sections, conflict banner, viewer/outsider access."""

from knowledge.postmortems.models import Postmortem


def test_list_and_detail(client_as, drafted):
    client = client_as("viewer")
    listed = client.get("/postmortems/")
    assert listed.status_code == 200 and drafted.title in listed.content.decode()
    page = client.get(f"/postmortems/{drafted.pk}/")
    body = page.content.decode()
    assert page.status_code == 200
    for row in drafted.timeline.all():
        assert f"#{row.sequence}" in body and row.entry_hash in body
    assert "Save revision" not in body  # a viewer does not edit


def test_empty_list(client_as, org):
    assert "No postmortems yet" in client_as("viewer").get("/postmortems/").content.decode()


def test_outsider_404_and_viewer_403(client_as, drafted):
    assert client_as("outsider").get(f"/postmortems/{drafted.pk}/").status_code == 404
    response = client_as("viewer").post(f"/postmortems/{drafted.pk}/", {"base_revision": 1, "title": "x"})
    assert response.status_code == 403
    drafted.refresh_from_db()
    assert drafted.title != "x"


def test_stale_save_shows_conflict_banner(client_as, drafted):
    client = client_as("operator")
    form = {"base_revision": 1, "title": drafted.title, "summary": "<script>alert(1)</script>First"}
    assert client.post(f"/postmortems/{drafted.pk}/", form).status_code == 302
    stale = client.post(f"/postmortems/{drafted.pk}/", {**form, "summary": "Second"})
    assert stale.status_code == 409
    assert "Someone else saved revision 2" in stale.content.decode()
    assert "Second" in stale.content.decode()  # the typed text is kept
    page = client.get(f"/postmortems/{drafted.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert Postmortem.objects.get(pk=drafted.pk).summary.endswith("First")


def test_draft_button_from_incident(client_as, resolved_incident):
    incident = resolved_incident()
    response = client_as("operator").post(f"/postmortems/from-incident/{incident.pk}/")
    postmortem = Postmortem.objects.get(incident=incident)
    assert response.status_code == 302 and response["Location"] == f"/postmortems/{postmortem.pk}/"


def test_resolved_incident_page_offers_drafting_to_editors_only(client_as, resolved_incident):
    incident = resolved_incident()
    assert (
        'id="postmortem-button"' not in client_as("viewer").get(f"/incidents/{incident.pk}/").content.decode()
    )
    client = client_as("operator")
    assert 'id="postmortem-button"' in client.get(f"/incidents/{incident.pk}/").content.decode()
    response = client.post(f"/postmortems/from-incident/{incident.pk}/")
    postmortem = Postmortem.objects.get(incidents=incident)
    assert response.status_code == 302 and response["Location"].endswith(f"/postmortems/{postmortem.pk}/")
