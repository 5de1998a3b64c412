from io import StringIO

from django.core.management import call_command

from incidents.models import Incident
from knowledge.effectiveness import staleness
from knowledge.models import Article, RunbookShown, RunbookStepCheck
from knowledge.selectors import runbooks_for_incident
from opsplatform.accounts.models import Organization, User
from opsplatform.core.actors import Actor


def test_seed_demo_builds_a_knowledge_base_whose_runbooks_find_incidents(db):
    call_command("seed_demo", stdout=StringIO())
    acme = Organization.objects.get(slug="acme")
    count = Article.objects.filter(organization=acme).count()
    call_command("seed_demo", stdout=StringIO())
    assert Article.objects.filter(organization=acme).count() == count >= 6
    assert Article.objects.filter(organization=acme, runbook_for__isnull=False).count() >= 4
    incident = Incident.objects.get(organization=acme, title="Card authorizations failing for EU issuers")
    incident.labels = {"issuer_region": "eu-central"}
    viewer = Actor.for_member(User.objects.get(username="acme-viewer"), acme)
    titles = [article.title for article, _ in runbooks_for_incident(viewer, incident)]
    assert titles[0] == "Payments API: card authorizations failing"
    # Effectiveness and staleness have something to show.
    runbooks = list(Article.objects.filter(organization=acme, runbook_for__isnull=False))
    assert RunbookShown.objects.filter(organization=acme).exists()
    assert RunbookStepCheck.objects.filter(organization=acme).exists()
    assert any(flag.stale for flag in staleness(runbooks).values())
