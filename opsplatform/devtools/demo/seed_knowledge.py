"""A knowledge base for a demo organization: runbooks for the demo services (with label matchers),
a team space with its own runbook, and a few how-tos. Idempotent: nothing is added once the
organization has articles. Everything goes through the services, so the ledger has the history.
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from incidents.models import Incident, Service
from knowledge.models import Article, ArticleRevision
from knowledge.runbooks import match_score
from knowledge.services.articles import article_create, article_save
from knowledge.services.runbooks import runbook_step_check, runbooks_shown
from knowledge.services.spaces import space_create
from opsplatform.accounts.models import Team
from opsplatform.core.actors import Actor

RUNBOOKS = [
    (
        "Payments API: card authorizations failing",
        "Payments API",
        ["sev1", "sev2"],
        {"issuer_region": {"op": "regex", "value": "^eu"}},
        ["payments", "card"],
        """Card authorizations fail for one issuer region while the rest work.

- [ ] Open the *Authorizations by issuer* dashboard and confirm which region fails
- [ ] Check the acquirer status page for an incident in that region
- [ ] Switch the region to the secondary acquirer: `payctl route --region eu --acquirer secondary`
- [ ] Watch the approval rate recover for 10 minutes
- [ ] Post an update in #payments-incidents
""",
    ),
    (
        "Auth: login latency degraded",
        "Auth",
        ["sev2", "sev3"],
        {},
        ["auth", "latency"],
        """Logins take longer than 2 s at p99.

- [ ] Check the session store (Redis) latency and memory
- [ ] Check the password hashing pods' CPU throttling
- [ ] Scale the auth deployment: `kubectl scale deploy/auth --replicas=12`
- [ ] If the identity provider is slow, enable the cached-token fallback
""",
    ),
    (
        "Database disk above 90%",
        None,
        [],
        {"alertname": "DiskUsageHigh", "db": {"op": "exists"}},
        ["database", "disk"],
        """A database volume is almost full.

- [ ] Find the largest tables: `SELECT relname, pg_size_pretty(pg_total_relation_size(oid)) ...`
- [ ] Check for a stuck replication slot holding WAL
- [ ] Grow the volume (online) by 20%
- [ ] Open a follow-up for retention if a table grew unexpectedly
""",
    ),
    (
        "Search: index rebuild stuck",
        "Search",
        [],
        {},
        ["search", "indexing"],
        """The nightly index rebuild has not finished.

- [ ] Check the rebuild job's last heartbeat
- [ ] Look for a shard in red state
- [ ] Restart the rebuild from the last checkpoint
""",
    ),
]

HOWTOS = [
    (
        "How we run incidents",
        "## Roles\n\nIncident commander, communications, operations.\n\n## Severity\n\n"
        "SEV1: customers cannot pay or log in. SEV2: degraded. SEV3: internal impact only.",
        ["process"],
    ),
    (
        "Certificate rotation",
        "Certificates are issued by the internal ACME endpoint and rotate 30 days "
        "before expiry. To rotate by hand run `certctl renew --service <name>`.",
        ["tls", "security"],
    ),
]


@transaction.atomic
def seed_knowledge(org, people: dict) -> None:
    if Article.objects.filter(organization=org).exists():
        return
    operator = Actor.for_member(people["operator"], org)
    manager = Actor.for_member(people["manager"], org)
    services = {s.name: s for s in Service.objects.filter(organization=org)}
    for title, service_name, severities, labels, tags, body in RUNBOOKS:
        service = services.get(service_name) if service_name else None
        if service_name and service is None:
            continue
        article_create(
            actor=operator,
            title=title,
            body=body,
            tags=tags,
            services=[service.pk] if service else [],
            runbook_for={
                "services": [service.pk] if service else [],
                "severities": severities,
                "labels": labels,
            },
            message="Imported from the old wiki",
        )
    _runbook_history(org, operator)
    for title, body, tags in HOWTOS:
        article = article_create(actor=manager, title=title, body=body, tags=tags)
    # A second revision, so the history and diff pages have something to compare.
    article_save(
        actor=operator,
        article=article,
        base_revision=article.current_revision_id,
        body=article.body + "\n\nWildcard certificates are not allowed.",
        message="Note on wildcards",
    )
    team = Team.objects.filter(organization=org).order_by("pk").first()
    if team is not None:
        team.members.add(people["operator"])
        space = space_create(actor=manager, name=f"{team.name} runbooks", team=team)
        article_create(
            actor=operator,
            title=f"{team.name}: on-call handover checklist",
            body="- [ ] Read the open incidents\n- [ ] Check the SLA page\n- [ ] Hand over in the channel",
            space=space,
            tags=["on-call"],
        )


def _runbook_history(org, operator) -> None:
    """Effectiveness and staleness to look at: the runbooks were shown on the demo incidents they
    match, a step ticked on some, and the oldest import has not been touched for half a year."""
    runbooks = list(Article.objects.filter(organization=org, runbook_for__isnull=False).order_by("pk"))
    for n, incident in enumerate(Incident.objects.filter(organization=org).order_by("pk")[:30]):
        matched = [a for a in runbooks if match_score(a.runbook_for, incident) is not None]
        runbooks_shown(incident=incident, articles=matched)
        if matched and n % 2 == 0:
            revision = ArticleRevision.objects.get(pk=matched[0].current_revision_id)
            runbook_step_check(actor=operator, incident=incident, revision=revision, step=0)
    if runbooks:
        Article.objects.filter(pk=runbooks[-1].pk).update(updated_at=timezone.now() - timedelta(days=180))
