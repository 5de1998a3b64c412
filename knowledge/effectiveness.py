"""How runbooks do: shown on incidents, steps ticked, and how fast incidents that used one were
acknowledged and resolved compared with those where it was shown but not used; and which runbooks
are stale.

"Shown" is a ``RunbookShown`` row (the incident page displayed the runbook); "used" is an incident
where at least one of its steps was ticked. A runbook is **stale** when nobody edited or reviewed it
for the organization's ``runbook_stale_days``, when a service it is for changed (a
``service.updated`` / ``service.deleted`` ledger entry) after its last edit or review, or when a
postmortem said it was wrong (a ``RunbookVerdict``) after its last edit or review.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Avg, Count, F, Max
from django.utils import timezone

from audit.models import LedgerEntry
from incidents.models import Incident
from knowledge.models import DEFAULT_STALE_DAYS, Article, KnowledgeSettings, RunbookShown, RunbookStepCheck
from knowledge.postmortems.models import RunbookVerdict, RunbookVerdictKind

SERVICE_CHANGES = ("service.updated", "service.deleted")


@dataclass(frozen=True)
class Timing:
    incidents: int  # resolved incidents in the group
    mtta: float | None  # seconds
    mttr: float | None


@dataclass
class Effectiveness:
    shown: int = 0  # incidents it was shown on
    used: int = 0  # incidents where a step was ticked
    steps_ticked: int = 0
    with_runbook: Timing | None = None
    without_runbook: Timing | None = None  # shown, no step ticked
    # What postmortems said of it: {"helped": n, "wrong": n, "not_used": n}
    verdicts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Staleness:
    stale: bool
    reasons: list[str] = field(default_factory=list)


def stale_days(organization) -> int:
    row = (
        KnowledgeSettings.objects.filter(organization=organization).values_list("runbook_stale_days").first()
    )
    return row[0] if row else DEFAULT_STALE_DAYS


def _service_ids(article: Article) -> set[int]:
    return set((article.runbook_for or {}).get("services") or [])


def _wrong_verdicts(runbook_ids: list[int]) -> dict[int, list[tuple]]:
    """Per runbook, the postmortems that said it was wrong, newest first: (postmortem id, title,
    note, decided at). One statement for any number of runbooks."""
    rows = (
        RunbookVerdict.objects.filter(article_id__in=runbook_ids, verdict=RunbookVerdictKind.WRONG)
        .order_by("-decided_at", "-id")
        .values_list("article_id", "postmortem_id", "postmortem__title", "note", "decided_at")
    )
    found: dict[int, list[tuple]] = {}
    for article_id, *rest in rows:
        found.setdefault(article_id, []).append(tuple(rest))
    return found


def _verdict_reason(postmortem_id, title, note) -> str:
    said = f'postmortem #{postmortem_id} ("{title}") says it was wrong'
    return f"{said}: {note}" if note else said


def staleness(articles: list[Article], *, now: datetime | None = None) -> dict[int, Staleness]:
    """The stale flag of each runbook among ``articles`` (plain articles are never stale), in three
    queries whatever their number."""
    runbooks = [a for a in articles if a.is_runbook]
    if not runbooks:
        return {a.pk: Staleness(False) for a in articles}
    now = now or timezone.now()
    organization = runbooks[0].organization_id
    days = stale_days(organization)
    service_ids = set().union(*(_service_ids(a) for a in runbooks))
    changed = dict(
        LedgerEntry.objects.filter(
            organization_id=organization,
            target_type="incidents.service",
            target_id__in=[str(pk) for pk in service_ids],
            verb__in=SERVICE_CHANGES,
        )
        .values("target_id")
        .annotate(last=Max("created_at"))
        .values_list("target_id", "last")
    )
    wrong = _wrong_verdicts([a.pk for a in runbooks])
    result = {a.pk: Staleness(False) for a in articles}
    for article in runbooks:
        confirmed = article.last_confirmed_at
        reasons = []
        if confirmed < now - timedelta(days=days):
            reasons.append(f"not edited or reviewed for {(now - confirmed).days} days (limit {days})")
        moved = sorted(pk for pk in _service_ids(article) if changed.get(str(pk), confirmed) > confirmed)
        if moved:
            reasons.append(f"{len(moved)} of its services changed since its last edit or review")
        # A "wrong" verdict holds until an edit (a new revision) or a review after it.
        reasons += [
            _verdict_reason(pm_id, title, note)
            for pm_id, title, note, decided_at in wrong.get(article.pk, [])
            if decided_at > confirmed
        ]
        result[article.pk] = Staleness(bool(reasons), reasons)
    return result


def usage_counts(article_ids: list[int]) -> dict[int, tuple[int, int]]:
    """(shown, used) per runbook, for lists."""
    shown = dict(
        RunbookShown.objects.filter(article_id__in=article_ids)
        .values("article_id")
        .annotate(n=Count("incident_id"))
        .values_list("article_id", "n")
    )
    used = dict(
        RunbookStepCheck.objects.filter(revision__article_id__in=article_ids)
        .values("revision__article_id")
        .annotate(n=Count("incident_id", distinct=True))
        .values_list("revision__article_id", "n")
    )
    return {pk: (shown.get(pk, 0), used.get(pk, 0)) for pk in article_ids}


def _timing(incident_ids) -> Timing:
    resolved = Incident.objects.filter(pk__in=incident_ids, resolved_at__isnull=False)
    figures = resolved.aggregate(
        n=Count("pk"),
        mtta=Avg(F("acknowledged_at") - F("created_at")),
        mttr=Avg(F("resolved_at") - F("created_at")),
    )
    return Timing(
        incidents=figures["n"],
        mtta=figures["mtta"].total_seconds() if figures["mtta"] is not None else None,
        mttr=figures["mttr"].total_seconds() if figures["mttr"] is not None else None,
    )


def effectiveness(article: Article) -> Effectiveness:
    checks = RunbookStepCheck.objects.filter(revision__article=article)
    used_ids = set(checks.values_list("incident_id", flat=True))
    # A tick implies the runbook was in front of someone, whether or not the page recorded it.
    shown_ids = (
        set(RunbookShown.objects.filter(article=article).values_list("incident_id", flat=True)) | used_ids
    )
    verdicts = dict(
        RunbookVerdict.objects.filter(article=article)
        .values("verdict")
        .annotate(n=Count("pk"))
        .values_list("verdict", "n")
    )
    return Effectiveness(
        verdicts={kind: verdicts.get(kind, 0) for kind in RunbookVerdictKind.values},
        shown=len(shown_ids),
        used=len(used_ids),
        steps_ticked=checks.count(),
        with_runbook=_timing(used_ids),
        without_runbook=_timing(shown_ids - used_ids),
    )


def stale_runbook_ids(articles) -> set[int]:
    articles = list(articles)
    flags = staleness(articles)
    return {pk for pk, flag in flags.items() if flag.stale}


def runbook_figures(article: Article) -> tuple[Staleness, Effectiveness | None]:
    """One article's stale flag and, for a runbook, its effectiveness (the API's article detail)."""
    return staleness([article])[article.pk], effectiveness(article) if article.is_runbook else None
