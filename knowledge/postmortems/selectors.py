"""Reading postmortems: lists, one postmortem with everything its page shows, verification."""

from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet

from audit.hashing import digest_of
from audit.models import LedgerEntry
from audit.verification import verify_chain
from knowledge.selectors import text_diff

from .models import SECTIONS, ActionItem, Postmortem, TimelineRow


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
