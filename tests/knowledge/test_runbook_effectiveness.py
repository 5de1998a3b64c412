"""Runbook effectiveness (shown, used, steps ticked, MTTA/MTTR used vs not) and stale flags (age
without edit or review, a linked service changed), on the runbook page and the list with a filter."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from incidents.models import Incident
from incidents.services import incident_create
from incidents.services.catalog import service_update
from knowledge.effectiveness import effectiveness, staleness
from knowledge.models import Article, RunbookShown
from knowledge.services.runbooks import runbook_mark_reviewed, runbook_stale_days_update, runbook_step_check
from tests.ledger import entries

pytestmark = pytest.mark.django_db
STEPS = "- [ ] Check lag\n- [ ] Promote the replica\n"


@pytest.fixture
def runbook(write, checkout):
    return write("Checkout failover", STEPS, runbook_for={"services": [checkout.pk]})


def _age(article, days):
    Article.objects.filter(pk=article.pk).update(updated_at=timezone.now() - timedelta(days=days))
    article.refresh_from_db()
    return article


def _incident(actor_as, checkout, *, ack_after, resolve_after):
    incident = incident_create(actor=actor_as("operator"), title="Checkout down", service=checkout)
    start = timezone.now() - timedelta(hours=2)
    Incident.objects.filter(pk=incident.pk).update(
        created_at=start,
        acknowledged_at=start + timedelta(seconds=ack_after),
        resolved_at=start + timedelta(seconds=resolve_after),
        status="resolved",
    )
    incident.refresh_from_db()
    return incident


def test_stale_after_the_configured_days_until_reviewed(actor_as, runbook, write):
    plain = _age(write("Old note", "text"), 400)
    runbook = _age(runbook, 100)
    flags = staleness([runbook, plain])
    assert (
        flags[runbook.pk].stale
        and "not edited or reviewed for 100 days (limit 90)" in flags[runbook.pk].reasons
    )
    assert not flags[plain.pk].stale  # only runbooks go stale
    runbook_stale_days_update(actor=actor_as("manager"), days=120)
    assert not staleness([runbook])[runbook.pk].stale
    runbook_stale_days_update(actor=actor_as("manager"), days=30)
    reviewed = runbook_mark_reviewed(actor=actor_as("operator"), article=runbook)
    assert not staleness([reviewed])[runbook.pk].stale
    [entry] = entries("knowledge.runbook_reviewed")
    assert entry.target_id == str(runbook.pk) and entry.actor_label.startswith("operator")
    with pytest.raises(ValidationError):
        runbook_stale_days_update(actor=actor_as("manager"), days=0)


def test_stale_when_a_linked_service_changed_after_the_last_edit(actor_as, runbook, checkout):
    assert not staleness([runbook])[runbook.pk].stale
    service_update(actor=actor_as("owner"), service=checkout, name="Checkout API v2")
    flag = staleness([runbook])[runbook.pk]
    assert flag.stale and flag.reasons == ["1 of its services changed since its last edit or review"]
    runbook_mark_reviewed(actor=actor_as("operator"), article=runbook)
    runbook.refresh_from_db()
    assert not staleness([runbook])[runbook.pk].stale


def test_effectiveness_shown_used_and_times(client_as, actor_as, runbook, checkout):
    used = _incident(actor_as, checkout, ack_after=60, resolve_after=600)
    not_used = _incident(actor_as, checkout, ack_after=300, resolve_after=3000)
    operator = client_as("operator")
    for incident in (used, not_used, used):  # a second look at the same incident counts once
        response = operator.get(f"/knowledge/incidents/{incident.pk}/runbooks/")
        assert response.status_code == 200 and b"Checkout failover" in response.content
    assert RunbookShown.objects.filter(article=runbook).count() == 2
    revision = runbook.current_revision
    runbook_step_check(actor=actor_as("operator"), incident=used, revision=revision, step=0)
    runbook_step_check(actor=actor_as("operator"), incident=used, revision=revision, step=1)
    effect = effectiveness(runbook)
    assert (effect.shown, effect.used, effect.steps_ticked) == (2, 1, 2)
    assert (effect.with_runbook.incidents, effect.with_runbook.mtta, effect.with_runbook.mttr) == (1, 60, 600)
    assert (effect.without_runbook.incidents, effect.without_runbook.mttr) == (1, 3000)
    page = operator.get(f"/knowledge/articles/{runbook.pk}/").content.decode()
    assert "Effectiveness" in page and "incidents where a step was ticked" in page
    assert "10 min" in page and "50 min" in page  # MTTR used vs not


def test_pages_flag_stale_runbooks_and_filter_them(client_as, actor_as, write, runbook):
    fresh = write("Fresh runbook", STEPS, runbook_for={"severities": ["sev1"]})
    _age(runbook, 200)
    operator = client_as("operator")
    listing = operator.get("/knowledge/?kind=stale").content.decode()
    assert "Checkout failover" in listing and "Fresh runbook" not in listing
    assert 'class="badge stale"' in listing
    assert "Fresh runbook" in operator.get("/knowledge/?kind=runbooks").content.decode()
    page = operator.get(f"/knowledge/articles/{runbook.pk}/").content.decode()
    assert "Stale runbook:" in page and "Mark reviewed" in page
    assert client_as("viewer").post(f"/knowledge/articles/{runbook.pk}/reviewed/").status_code == 403
    assert client_as("outsider").post(f"/knowledge/articles/{runbook.pk}/reviewed/").status_code == 404
    operator = client_as("operator")  # one test client: each client_as signs it in again
    response = operator.post(f"/knowledge/articles/{runbook.pk}/reviewed/")
    assert response.status_code == 302
    runbook.refresh_from_db()
    assert runbook.reviewed_at is not None
    assert "Checkout failover" not in operator.get("/knowledge/?kind=stale").content.decode()
    assert fresh.pk not in {a.pk for a in Article.objects.filter(reviewed_at__isnull=False)}
