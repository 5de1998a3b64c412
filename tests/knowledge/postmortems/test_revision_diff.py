"""Comparing two postmortem revisions: the history page and a side-by-side diff of the sections,
with the text escaped; another organization's postmortem is a 404."""

from knowledge.postmortems.services import postmortem_save


def test_history_and_diff_of_two_revisions(client_as, actor_as, drafted):
    saved = postmortem_save(
        actor=actor_as("operator"),
        postmortem=drafted,
        base_revision=drafted.revision,
        sections={"root_cause": "A bad deploy <script>alert(1)</script> of the checkout service"},
        message="Root cause found",
    )
    client = client_as("viewer")
    history = client.get(f"/postmortems/{drafted.pk}/history/").content.decode()
    assert "Root cause found" in history and f'value="{saved.revision}"' in history
    response = client.get(f"/postmortems/{drafted.pk}/diff/?from={saved.revision - 1}&to={saved.revision}")
    body = response.content.decode()
    assert response.status_code == 200
    assert f"Revision {saved.revision - 1}" in body and f"Revision {saved.revision}" in body
    assert "##&nbsp;Root&nbsp;cause" in body  # difflib keeps spacing with &nbsp;
    assert "A&nbsp;bad&nbsp;deploy" in body
    assert "<script>alert(1)" not in body and "&lt;script&gt;" in body
    assert client.get(f"/postmortems/{drafted.pk}/diff/?from=99&to=1").status_code == 404
    assert client_as("outsider").get(f"/postmortems/{drafted.pk}/history/").status_code == 404
    assert client_as("outsider").get(f"/postmortems/{drafted.pk}/diff/?from=1&to=2").status_code == 404
