import pytest

from knowledge.models import Article
from knowledge.services.spaces import private_space


@pytest.fixture
def team_article(write, payments_space):
    return write("Gateway keys", "rotate them", space=payments_space)


PAGES = ["/knowledge/articles/{pk}/", "/knowledge/articles/{pk}/history/", "/knowledge/articles/{pk}/edit/"]


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("role", ["viewer", "outsider"])
def test_readers_outside_the_space_get_404_on_pages(team_article, client_as, role, path):
    assert client_as(role).get(path.format(pk=team_article.pk)).status_code == 404


@pytest.mark.parametrize("role", ["viewer", "outsider"])
def test_readers_outside_the_space_get_404_on_the_api(team_article, api_as, role):
    api = api_as(role)
    assert api.get(f"/api/v1/articles/{team_article.pk}/").status_code == 404
    assert api.get(f"/api/v1/articles/{team_article.pk}/revisions/").status_code == 404
    patch = api.patch(
        f"/api/v1/articles/{team_article.pk}/",
        {"body": "x", "base_revision": team_article.current_revision_id},
        format="json",
    )
    assert patch.status_code in (403, 404) if role == "viewer" else patch.status_code == 404
    team_article.refresh_from_db()
    assert team_article.body == "rotate them"


def test_team_members_and_managers_read_team_space(team_article, client_as, api_as):
    assert client_as("operator").get(f"/knowledge/articles/{team_article.pk}/").status_code == 200
    assert api_as("admin").get(f"/api/v1/articles/{team_article.pk}/").status_code == 200
    spaces = {s["name"] for s in api_as("viewer").get("/api/v1/knowledge-spaces/").json()}
    assert spaces == {"General"}


def test_viewer_reads_but_cannot_write_org_space(write, api_as):
    article = write("Public how-to", "steps")
    assert api_as("viewer").get(f"/api/v1/articles/{article.pk}/").status_code == 200
    refused = api_as("viewer").post("/api/v1/articles/", {"title": "t", "body": "b"}, format="json")
    assert refused.status_code == 403
    assert Article.objects.count() == 1


def test_private_drafts_are_their_owners_only(write, actor_as, users, client_as):
    drafts = private_space(actor_as("operator"))
    draft = write("My draft", "wip", space=drafts)
    assert client_as("operator").get(f"/knowledge/articles/{draft.pk}/").status_code == 200
    assert client_as("owner").get(f"/knowledge/articles/{draft.pk}/").status_code == 404


def test_create_without_space_lands_in_the_organization_space(api_as):
    response = api_as("operator").post(
        "/api/v1/articles/", {"title": "Hello", "body": "*world*"}, format="json"
    )
    assert response.status_code == 201, response.content
    article = Article.objects.get(pk=response.json()["id"])
    assert article.space.kind == "organization"
    assert response.json()["html"] == "<p><em>world</em></p>"
