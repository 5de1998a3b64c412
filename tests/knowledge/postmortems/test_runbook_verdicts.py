"""What a postmortem says about its incidents' runbooks: a "wrong" verdict flags the runbook stale
(with the postmortem and the note as the reason) until the runbook is edited or reviewed after it;
"helped" flags nothing. Through the service, the API (and its schema) and the pages."""

import pytest
from django.core.exceptions import ValidationError

from knowledge.effectiveness import effectiveness, staleness
from knowledge.models import Article
from knowledge.postmortems.errors import ReadOnly
from knowledge.postmortems.models import Postmortem, PostmortemStatus, RunbookVerdict
from knowledge.postmortems.services import runbook_verdicts_set
from knowledge.services.articles import article_create, article_save
from knowledge.services.runbooks import runbook_mark_reviewed
from opsplatform.core.actors import Actor
from tests.ledger import entries

pytestmark = pytest.mark.django_db
STEPS = "- [ ] Check the pool\n- [ ] Roll back\n"
NOTE = "Step 2 names the old deploy tool"


@pytest.fixture
def runbook(write, service):
    return write("Checkout errors", STEPS, runbook_for={"services": [service.pk]})


def _stale(article):
    article = Article.objects.get(pk=article.pk)
    return staleness([article])[article.pk]


def _judge(actor, postmortem, article, verdict, note=""):
    return runbook_verdicts_set(
        actor=actor,
        postmortem=postmortem,
        verdicts=[{"article": article.pk, "verdict": verdict, "note": note}],
    )


def test_wrong_flags_the_runbook_stale_until_it_is_edited(actor_as, drafted, runbook):
    assert not _stale(runbook).stale
    _judge(actor_as("operator"), drafted, runbook, "wrong", NOTE)
    flag = _stale(runbook)
    assert flag.stale
    assert flag.reasons == [f'postmortem #{drafted.pk} ("{drafted.title}") says it was wrong: {NOTE}']
    [entry] = entries("postmortem.runbook_verdicts_set", target=drafted)
    assert entry.data["verdicts"] == [
        {"article": runbook.pk, "verdict": "wrong", "note": NOTE, "previous": None}
    ]
    # Judging the same again is no change: no second entry, and the verdict keeps its time.
    decided = RunbookVerdict.objects.get().decided_at
    _judge(actor_as("operator"), drafted, runbook, "wrong", NOTE)
    assert entries("postmortem.runbook_verdicts_set").count() == 1
    assert RunbookVerdict.objects.get().decided_at == decided
    # A new revision after the verdict clears the flag; the verdict itself stays on the postmortem.
    runbook.refresh_from_db()
    article_save(
        actor=actor_as("operator"),
        article=runbook,
        base_revision=runbook.current_revision_id,
        body=STEPS + "x",
    )
    assert not _stale(runbook).stale
    assert RunbookVerdict.objects.get().verdict == "wrong"


def test_a_review_clears_it_and_a_later_verdict_flags_again(actor_as, drafted, runbook):
    _judge(actor_as("operator"), drafted, runbook, "wrong")
    assert _stale(runbook).reasons == [f'postmortem #{drafted.pk} ("{drafted.title}") says it was wrong']
    runbook_mark_reviewed(actor=actor_as("operator"), article=runbook)
    assert not _stale(runbook).stale
    _judge(actor_as("operator"), drafted, runbook, "wrong", "still wrong")  # a changed note: decided now
    assert _stale(runbook).stale


def test_helped_and_not_used_do_not_flag_and_count_in_the_figures(actor_as, drafted, runbook):
    _judge(actor_as("operator"), drafted, runbook, "helped", "Worked")
    assert not _stale(runbook).stale
    assert effectiveness(runbook).verdicts == {"helped": 1, "wrong": 0, "not_used": 0}
    _judge(actor_as("operator"), drafted, runbook, "wrong")
    assert effectiveness(runbook).verdicts == {"helped": 0, "wrong": 1, "not_used": 0}
    # null removes the verdict, and with it the flag.
    _judge(actor_as("operator"), drafted, runbook, None)
    assert not RunbookVerdict.objects.exists() and not _stale(runbook).stale
    [*_, removed] = entries("postmortem.runbook_verdicts_set")
    assert removed.data["verdicts"] == [{"article": runbook.pk, "verdict": None, "previous": "wrong"}]


def test_only_runbooks_of_the_organization_and_not_once_published(
    actor_as, drafted, runbook, write, other_org, outsider
):
    plain = write("A note", "text")
    foreign = article_create(
        actor=Actor.for_member(outsider, other_org), title="Theirs", body=STEPS, runbook_for={"services": []}
    )
    for article in (plain, foreign):
        with pytest.raises(ValidationError, match="No such runbook"):
            _judge(actor_as("operator"), drafted, article, "wrong")
    with pytest.raises(ValidationError):
        _judge(actor_as("operator"), drafted, runbook, "terrible")
    assert not RunbookVerdict.objects.exists()
    _judge(actor_as("operator"), drafted, runbook, "wrong")
    Postmortem.objects.filter(pk=drafted.pk).update(status=PostmortemStatus.PUBLISHED)
    with pytest.raises(ReadOnly):
        _judge(actor_as("operator"), drafted, runbook, "helped")
    assert RunbookVerdict.objects.get().verdict == "wrong"  # published keeps its verdict
    assert _stale(runbook).stale


# --- API --------------------------------------------------------------------------------------


def _post(api, postmortem, verdicts):
    return api.post(
        f"/api/v1/postmortems/{postmortem.pk}/runbook-verdicts/",
        {"runbook_verdicts": verdicts},
        format="json",
    )


def test_api_round_trip_and_the_article_shows_the_flag(api_as, drafted, runbook):
    api = api_as("operator")
    response = _post(api, drafted, [{"article": runbook.pk, "verdict": "wrong", "note": NOTE}])
    assert response.status_code == 200, response.content
    [verdict] = response.json()["runbook_verdicts"]
    assert verdict | {"decided_at": None} == {
        "article": runbook.pk,
        "title": runbook.title,
        "verdict": "wrong",
        "note": NOTE,
        "decided_at": None,
        "decided_by": "operator",
    }
    assert api.get(f"/api/v1/postmortems/{drafted.pk}/").json()["runbook_verdicts"] == [verdict]
    article = api.get(f"/api/v1/articles/{runbook.pk}/").json()
    assert article["stale"] is True and f"postmortem #{drafted.pk}" in article["stale_reason"]
    assert NOTE in article["stale_reason"]
    assert article["effectiveness"]["verdicts"] == {"helped": 0, "wrong": 1, "not_used": 0}
    for params in ({}, {"q": "checkout"}):
        rows = api.get("/api/v1/articles/", params).json()["results"]
        assert {row["id"]: row["stale"] for row in rows} == {runbook.pk: True}, params


def test_api_bad_input_is_a_400_problem(api_as, drafted, runbook, write):
    api = api_as("operator")
    plain = write("A note", "text")
    for verdicts in (
        [{"article": plain.pk, "verdict": "wrong"}],
        [{"article": 10**12, "verdict": "wrong"}],
        [{"article": runbook.pk, "verdict": "awful"}],
        [{"article": runbook.pk, "verdict": "wrong", "extra": 1}],
        [{"article": runbook.pk, "verdict": "wrong"}, {"article": runbook.pk, "verdict": "helped"}],
        [],
    ):
        response = _post(api, drafted, verdicts)
        assert response.status_code == 400, (verdicts, response.content)
        assert response["Content-Type"].startswith("application/problem+json")
    assert not RunbookVerdict.objects.exists()
    assert not entries("postmortem.runbook_verdicts_set").exists()


def test_api_viewer_403_outsider_404_published_409(api_as, drafted, runbook):
    verdicts = [{"article": runbook.pk, "verdict": "wrong"}]
    assert _post(api_as("viewer"), drafted, verdicts).status_code == 403
    assert _post(api_as("outsider"), drafted, verdicts).status_code == 404
    assert not RunbookVerdict.objects.exists()
    Postmortem.objects.filter(pk=drafted.pk).update(status=PostmortemStatus.PUBLISHED)
    response = _post(api_as("operator"), drafted, verdicts)
    assert response.status_code == 409 and not RunbookVerdict.objects.exists()


def test_the_schema_documents_the_verdicts(client):
    schema = client.get("/api/v1/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/postmortems/{id}/runbook-verdicts/"]["post"]
    assert {"200", "400", "403", "404"} <= set(operation["responses"])
    components = schema["components"]["schemas"]
    assert "runbook_verdicts" in components["Postmortem"]["properties"]
    assert components["RunbookVerdict"]["properties"]["verdict"]
    assert "verdicts" in components["Effectiveness"]["properties"]


# --- pages ------------------------------------------------------------------------------------


def test_the_page_card_sets_verdicts_over_htmx(client_as, drafted, runbook):
    client = client_as("operator")
    page = client.get(f"/postmortems/{drafted.pk}/").content.decode()
    assert 'id="postmortem-runbooks"' in page and runbook.title in page and "Save verdicts" in page
    response = client.post(
        f"/postmortems/{drafted.pk}/runbooks/",
        {"article": [runbook.pk], f"verdict_{runbook.pk}": "wrong", f"note_{runbook.pk}": "<b>old</b> host"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    card = response.content.decode()
    assert card.startswith('<section class="card" id="postmortem-runbooks">') and "badge stale" in card
    assert "<b>old</b>" not in card  # the note is escaped
    assert RunbookVerdict.objects.get(article=runbook).note == "<b>old</b> host"
    article_page = client.get(f"/knowledge/articles/{runbook.pk}/").content.decode()
    assert "Stale runbook:" in article_page and f"postmortem #{drafted.pk}" in article_page
    panel = client.get(f"/knowledge/incidents/{drafted.incident_id}/runbooks/").content.decode()
    assert "badge stale" in panel and "says it was wrong" in panel
    bad = client.post(
        f"/postmortems/{drafted.pk}/runbooks/", {"article": [runbook.pk], f"verdict_{runbook.pk}": "awful"}
    )
    assert bad.status_code == 400 and "errorlist" in bad.content.decode()
    assert RunbookVerdict.objects.get(article=runbook).verdict == "wrong"


def test_the_page_card_viewer_403_outsider_404_published_read_only(client_as, drafted, runbook, actor_as):
    form = {"article": [runbook.pk], f"verdict_{runbook.pk}": "wrong"}
    viewer = client_as("viewer")
    assert "Save verdicts" not in viewer.get(f"/postmortems/{drafted.pk}/").content.decode()
    assert viewer.post(f"/postmortems/{drafted.pk}/runbooks/", form).status_code == 403
    assert client_as("outsider").post(f"/postmortems/{drafted.pk}/runbooks/", form).status_code == 404
    assert client_as("outsider").get(f"/postmortems/{drafted.pk}/runbooks/").status_code == 404
    assert not RunbookVerdict.objects.exists()
    _judge(actor_as("operator"), drafted, runbook, "helped", "Fine")
    Postmortem.objects.filter(pk=drafted.pk).update(status=PostmortemStatus.PUBLISHED)
    client = client_as("operator")
    card = client.get(f"/postmortems/{drafted.pk}/runbooks/").content.decode()
    assert "Save verdicts" not in card and "Helped" in card and "Fine" in card
    assert client.post(f"/postmortems/{drafted.pk}/runbooks/", form).status_code == 409
    assert RunbookVerdict.objects.get().verdict == "helped"
