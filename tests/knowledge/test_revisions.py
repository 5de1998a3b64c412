import pytest

from knowledge.errors import RevisionConflict
from knowledge.models import Article, ArticleRevision
from knowledge.selectors import revision_diff
from knowledge.services.articles import article_restore, article_save
from tests.ledger import entries, verbs


def test_create_writes_first_revision_and_ledger(write, users):
    article = write("Drain a node", "1. cordon\n2. drain", message="first")
    assert article.space.kind == "organization"
    rev = article.current_revision
    assert (rev.number, rev.title, rev.body, rev.author, rev.message) == (
        1,
        "Drain a node",
        "1. cordon\n2. drain",
        users["operator"],
        "first",
    )
    assert verbs(article) == ["knowledge.article_created"]


def test_second_save_on_same_base_is_a_conflict(write, actor_as):
    article = write("Drain a node", "v1")
    base = article.current_revision_id
    article_save(actor=actor_as("operator"), article=article, base_revision=base, body="v2 by operator")
    with pytest.raises(RevisionConflict) as exc:
        article_save(actor=actor_as("manager"), article=article, base_revision=base, body="v2 by manager")
    assert exc.value.base == 1 and exc.value.current == 2
    article.refresh_from_db()
    assert article.body == "v2 by operator"
    assert ArticleRevision.objects.filter(article=article).count() == 2
    assert verbs(article) == ["knowledge.article_created", "knowledge.article_saved"]


def test_api_conflict_is_409_problem(write, api_as):
    article = write("Drain a node", "v1")
    base = article.current_revision_id
    api = api_as("operator")
    first = api.patch(f"/api/v1/articles/{article.pk}/", {"body": "v2", "base_revision": base}, format="json")
    assert first.status_code == 200, first.content
    assert first.json()["revision_number"] == 2
    second = api.patch(
        f"/api/v1/articles/{article.pk}/", {"body": "v2b", "base_revision": base}, format="json"
    )
    assert second.status_code == 409
    assert second["Content-Type"].startswith("application/problem+json")
    assert "revision 1" in second.json()["detail"]
    article.refresh_from_db()
    assert article.body == "v2"


def test_page_conflict_is_a_form_error(write, client_as):
    article = write("Drain a node", "v1")
    base = article.current_revision_id
    client = client_as("operator")
    url = f"/knowledge/articles/{article.pk}/edit/"
    data = {"title": "Drain a node", "body": "v2", "tags": "", "message": "", "base_revision": base}
    assert client.post(url, data).status_code == 302
    response = client.post(url, {**data, "body": "v2 again"})
    assert response.status_code == 200
    assert "Someone saved this article since you started" in response.content.decode()
    article.refresh_from_db()
    assert article.body == "v2"


def test_diff_and_restore(write, actor_as, api_as):
    article = write("Drain a node", "cordon\ndrain\n<script>alert(1)</script>")
    first = article.current_revision
    article = article_save(
        actor=actor_as("operator"), article=article, base_revision=first.pk, body="cordon\ndrain --force"
    )
    second = article.current_revision
    table = revision_diff(first, second)
    assert "--force" in table and "Revision 1" in table
    assert "<script>" not in table and "&lt;script&gt;" in table

    response = api_as("operator").post(
        f"/api/v1/articles/{article.pk}/restore/", {"revision": first.pk}, format="json"
    )
    assert response.status_code == 200, response.content
    article.refresh_from_db()
    assert article.body == first.body
    third = article.current_revision
    assert third.number == 3 and third.restored_from == first
    assert entries("knowledge.article_restored", target=article).get().data == {"revision": 3, "restored": 1}

    revisions = api_as("viewer").get(f"/api/v1/articles/{article.pk}/revisions/").json()
    assert [r["number"] for r in revisions] == [3, 2, 1]

    # restore directly keeps numbering going too
    article_restore(actor=actor_as("operator"), article=article, revision=second)
    assert Article.objects.get(pk=article.pk).current_revision.number == 4


def test_diff_page_and_history_page(write, actor_as, client_as):
    article = write("Drain a node", "one")
    first = article.current_revision
    article = article_save(actor=actor_as("operator"), article=article, base_revision=first.pk, body="two")
    client = client_as("viewer")
    history = client.get(f"/knowledge/articles/{article.pk}/history/")
    assert history.status_code == 200
    diff = client.get(
        f"/knowledge/articles/{article.pk}/diff/?from={first.pk}&to={article.current_revision_id}"
    )
    assert diff.status_code == 200
    body = diff.content.decode()
    assert 'class="diff"' in body and "two" in body


def test_edit_banner_appears_once_someone_else_saved(
    write, actor_as, client_as, django_capture_on_commit_callbacks
):
    article = write("Drain a node", "v1")
    base = article.current_revision_id
    client = client_as("manager")
    url = f"/knowledge/articles/{article.pk}/saved-banner/?base={base}"
    assert "while you were editing" not in client.get(url).content.decode()
    with django_capture_on_commit_callbacks() as callbacks:
        article_save(actor=actor_as("operator"), article=article, base_revision=base, body="v2")
    assert callbacks, "the save publishes an article event after commit"
    banner = client.get(url).content.decode()
    assert "operator saved revision 2 while you were editing" in banner


def test_index_lists_recent_and_searches_with_filters(write, client_as):
    write("Restart the queue", "restart the workers", tags=["queue"])
    write("Restart the cache", "restart redis", tags=["cache"])
    client = client_as("viewer")
    recent = client.get("/knowledge/").content.decode()
    assert "Restart the queue" in recent and "Restart the cache" in recent
    filtered = client.get("/knowledge/", {"q": "restart", "tag": "cache"}).content.decode()
    assert "Restart the cache" in filtered and "Restart the queue" not in filtered
    empty = client.get("/knowledge/", {"q": "zebra unicorn"}).content.decode()
    assert "Nothing found" in empty
