"""The article API carries a runbook's effectiveness and stale flag (the detail), and the stale flag
alone on each row of the list and the search; figures asserted against incidents made here."""

from datetime import timedelta

import pytest
from django.utils import timezone

from incidents.models import Incident
from incidents.services import incident_create
from incidents.services.catalog import service_update
from knowledge.models import Article
from knowledge.services.runbooks import runbook_mark_reviewed, runbook_step_check, runbooks_shown

pytestmark = pytest.mark.django_db
STEPS = "- [ ] Check lag\n- [ ] Promote the replica\n"


@pytest.fixture
def runbook(write, checkout):
    return write("Checkout failover", STEPS, runbook_for={"services": [checkout.pk]})


@pytest.fixture
def incident(actor_as, checkout):
    """An incident of the checkout service, resolved ``ack`` and ``resolve`` seconds after it began
    (left open when they are None)."""

    def make(ack=None, resolve=None):
        made = incident_create(actor=actor_as("operator"), title="Checkout down", service=checkout)
        if resolve is not None:
            start = timezone.now() - timedelta(hours=2)
            Incident.objects.filter(pk=made.pk).update(
                created_at=start,
                acknowledged_at=start + timedelta(seconds=ack),
                resolved_at=start + timedelta(seconds=resolve),
                status="resolved",
            )
            made.refresh_from_db()
        return made

    return make


def _age(article, days):
    Article.objects.filter(pk=article.pk).update(updated_at=timezone.now() - timedelta(days=days))


def test_detail_carries_effectiveness_against_the_incidents(api_as, actor_as, runbook, incident):
    used = incident(ack=60, resolve=600)
    used_too = incident(ack=120, resolve=1200)
    shown_only = incident(ack=300, resolve=3000)
    shown_open = incident()  # not resolved: counted as shown, in no time
    for shown in (used, shown_only, shown_open):
        runbooks_shown(incident=shown, articles=[runbook])
    operator = actor_as("operator")
    revision = runbook.current_revision
    runbook_step_check(actor=operator, incident=used, revision=revision, step=0)
    runbook_step_check(actor=operator, incident=used, revision=revision, step=1)
    # Ticked without the panel having recorded it as shown: a tick means it was in front of someone.
    runbook_step_check(actor=operator, incident=used_too, revision=revision, step=0)

    response = api_as("viewer").get(f"/api/v1/articles/{runbook.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert body["effectiveness"] == {
        "shown": 4,
        "used": 2,
        "steps_ticked": 3,
        "with_runbook": {"incidents": 2, "mtta_seconds": 90.0, "mttr_seconds": 900.0},
        "without_runbook": {"incidents": 1, "mtta_seconds": 300.0, "mttr_seconds": 3000.0},
        "verdicts": {"helped": 0, "wrong": 0, "not_used": 0},
    }
    assert (body["stale"], body["stale_reason"]) == (False, None)


def test_a_runbook_never_used_has_null_times(api_as, runbook):
    body = api_as("viewer").get(f"/api/v1/articles/{runbook.pk}/").json()
    empty = {"incidents": 0, "mtta_seconds": None, "mttr_seconds": None}
    assert body["effectiveness"] == {
        "shown": 0,
        "used": 0,
        "steps_ticked": 0,
        "with_runbook": empty,
        "without_runbook": empty,
        "verdicts": {"helped": 0, "wrong": 0, "not_used": 0},
    }


def test_a_plain_article_has_no_figures(api_as, write):
    article = write("Team lunch", "Thursdays")
    _age(article, 400)
    body = api_as("viewer").get(f"/api/v1/articles/{article.pk}/").json()
    assert (body["effectiveness"], body["stale"], body["stale_reason"]) == (None, False, None)


def test_stale_with_its_reasons_on_the_detail(api_as, actor_as, runbook, checkout):
    _age(runbook, 100)
    service_update(actor=actor_as("owner"), service=checkout, name="Checkout API v2")
    body = api_as("viewer").get(f"/api/v1/articles/{runbook.pk}/").json()
    assert body["stale"] is True
    assert body["stale_reason"] == (
        "not edited or reviewed for 100 days (limit 90); "
        "1 of its services changed since its last edit or review"
    )
    runbook_mark_reviewed(actor=actor_as("operator"), article=Article.objects.get(pk=runbook.pk))
    body = api_as("viewer").get(f"/api/v1/articles/{runbook.pk}/").json()
    assert (body["stale"], body["stale_reason"]) == (False, None)


def test_writes_answer_with_the_figures(api_as, checkout):
    api = api_as("operator")
    created = api.post(
        "/api/v1/articles/",
        {"title": "Failover", "body": STEPS, "runbook_for": {"services": [checkout.pk]}},
        format="json",
    )
    assert created.status_code == 201
    assert created.json()["effectiveness"]["shown"] == 0 and created.json()["stale"] is False


def test_list_and_search_rows_flag_stale_runbooks(api_as, write, runbook):
    fresh = write("Checkout fresh failover", STEPS)
    _age(runbook, 200)
    api = api_as("viewer")
    for params in ({"q": "failover"}, {}):
        rows = api.get("/api/v1/articles/", params).json()["results"]
        assert {row["id"]: row["stale"] for row in rows} == {runbook.pk: True, fresh.pk: False}, params
        assert all("effectiveness" not in row for row in rows)  # the list stays cheap


def test_the_schema_documents_the_figures(client):
    schema = client.get("/api/v1/schema/?format=json").json()
    components = schema["components"]["schemas"]
    article = components["Article"]["properties"]
    assert {"stale", "stale_reason", "effectiveness"} <= set(article)
    assert article["effectiveness"]["nullable"] is True
    timing = components["Timing"]["properties"]
    assert timing["mttr_seconds"]["nullable"] is True
    hit = components["SearchHit"]["properties"]
    assert hit["stale"]["type"] == "boolean"
