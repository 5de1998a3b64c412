"""Reading postmortems: lists, one postmortem with everything its page shows, verification."""

from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet

from audit.hashing import digest_of
from audit.models import LedgerEntry
from audit.verification import verify_chain
from knowledge.access import readable_spaces
from knowledge.effectiveness import staleness
from knowledge.models import Article, RunbookShown
from knowledge.selectors import runbooks_in_spaces, text_diff

from .models import SECTIONS, ActionItem, Postmortem, RunbookVerdict, TimelineRow


def postmortems_for_list(organization) -> QuerySet[Postmortem]:
    return Postmortem.objects.for_organization(organization).select_related("incident", "review_run")


def postmortem_detail(organization) -> QuerySet[Postmortem]:
    return postmortems_for_list(organization).prefetch_related(
        "incidents",
        Prefetch("timeline", queryset=TimelineRow.objects.order_by("sequence")),
        Prefetch("action_items", queryset=ActionItem.objects.select_related("task", "task__assignee")),
    )


@dataclass(frozen=True)
class RowCheck:
    sequence: int
    problem: str


@dataclass(frozen=True)
class Verification:
    checked: int
    problems: tuple[RowCheck, ...]
    chain_intact: bool
    chain_problem: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems and self.chain_intact


def verify_postmortem(postmortem: Postmortem, *, check_chain: bool = True) -> Verification:
    """Each timeline row against the ledger entry of its sequence: same hash, same verb and time,
    and the entry's hash still its content's digest; then (optionally) the whole chain intact."""
    rows = list(postmortem.timeline.order_by("sequence"))
    ledger = {
        entry.sequence: entry
        for entry in LedgerEntry.objects.filter(
            organization_id=postmortem.organization_id, sequence__in=[row.sequence for row in rows]
        )
    }
    problems = []
    for row in rows:
        entry = ledger.get(row.sequence)
        if entry is None:
            problems.append(RowCheck(row.sequence, "no ledger entry has this sequence"))
        elif entry.entry_hash != row.entry_hash:
            problems.append(RowCheck(row.sequence, "the ledger entry's hash differs from the timeline's"))
        elif digest_of(entry) != entry.entry_hash:
            problems.append(
                RowCheck(row.sequence, "the ledger entry was altered (its hash no longer matches)")
            )
        elif entry.verb != row.verb or entry.created_at != row.occurred_at:
            problems.append(RowCheck(row.sequence, "the timeline row differs from its ledger entry"))
    chain_intact, chain_problem = True, ""
    if check_chain:
        report = verify_chain(postmortem.organization_id)
        if not report.intact:
            chain_intact = False
            chain_problem = f"sequence {report.broken.sequence}: {report.broken.problem}"
    return Verification(len(rows), tuple(problems), chain_intact, chain_problem)


def revision_lines(revision) -> list[str]:
    """A revision as Markdown lines: its title, then each section under its heading."""
    lines = [f"# {revision.title}"]
    for key, label in SECTIONS:
        lines += ["", f"## {label}", "", *(revision.sections.get(key) or "").splitlines()]
    return lines


def postmortem_revision_diff(old, new) -> str:
    return text_diff(
        revision_lines(old), revision_lines(new), f"Revision {old.number}", f"Revision {new.number}"
    )


def runbook_verdicts(postmortem: Postmortem, actor) -> list[RunbookVerdict]:
    """The postmortem's verdicts on runbooks the actor may read (another's title stays unseen)."""
    return list(
        RunbookVerdict.objects.filter(postmortem=postmortem, article__space__in=readable_spaces(actor))
        .select_related("article", "decided_by")
        .order_by("article__title", "article_id")
    )


@dataclass
class RunbookRow:
    article: Article
    verdict: RunbookVerdict | None
    stale: object  # knowledge.effectiveness.Staleness


def runbook_rows(postmortem: Postmortem, actor) -> list[RunbookRow]:
    """What the postmortem's *Runbooks* card lists: the runbooks of its incidents the actor may read
    (those matching an incident now, those its page showed, those with a verdict), each with its
    verdict and stale flag."""
    spaces = readable_spaces(actor)
    incidents = list(postmortem.incidents.all()) or [postmortem.incident]
    articles = {a.pk: a for incident in incidents for a, _ in runbooks_in_spaces(spaces, incident)}
    shown = Article.objects.filter(
        pk__in=RunbookShown.objects.filter(incident__in=incidents).values("article_id"),
        runbook_for__isnull=False,
        space__in=spaces,
    )
    articles.update((a.pk, a) for a in shown)
    verdicts = {v.article_id: v for v in runbook_verdicts(postmortem, actor)}
    articles.update((pk, v.article) for pk, v in verdicts.items())
    ordered = sorted(articles.values(), key=lambda a: (a.title.lower(), a.pk))
    flags = staleness(ordered)
    return [RunbookRow(a, verdicts.get(a.pk), flags[a.pk]) for a in ordered]
