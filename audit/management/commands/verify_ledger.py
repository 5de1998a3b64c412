"""``manage.py verify_ledger``: walk every ledger chain and name the first broken link of each.

The live chain is checked from its latest signed checkpoint; ``--archive`` checks the archived spans
against their checkpoints first (docs/data-lifecycle.md).

Exit status: 0 when every chain checked is intact, 1 when one is broken, 2 for a usage error
(such as an unknown organization), so a scheduled job can tell tampering from a typo.
"""

from django.core.management.base import BaseCommand, CommandError

from audit.archive.verify import verify_archive
from audit.models import LedgerEntry
from audit.verification import CHUNK_SIZE, ChainReport, verify_chain
from opsplatform.accounts.models import Organization

EXIT_BROKEN = 1
EXIT_USAGE = 2


class Command(BaseCommand):
    help = "Verify the hash chains of the event ledger (every organization's and the platform chain)."
    # Reads one table; an unrelated failing system check must not stop a scheduled integrity check.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--organization",
            metavar="SLUG_OR_ID",
            help="Check only this organization's chain (default: every chain, including the platform's).",
        )
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=CHUNK_SIZE,
            help=f"Entries read per query (default {CHUNK_SIZE}).",
        )

        parser.add_argument(
            "--archive",
            action="store_true",
            help="Also verify the archived spans (files or MongoDB) against their signed checkpoints.",
        )

    def handle(self, *args, organization=None, chunk_size=CHUNK_SIZE, archive=False, **options):
        if chunk_size < 1:
            raise CommandError("--chunk-size must be at least 1.", returncode=EXIT_USAGE)
        if organization is not None:
            org = _find_organization(organization)
            chains = [(org.pk, _label(org))]
        else:
            orgs = Organization.objects.order_by("pk").only("pk", "slug")
            chains = [(org.pk, _label(org)) for org in orgs] + [(None, "platform chain")]

        broken = []
        for organization_id, name in chains:
            report = verify_archive(organization_id) if archive else None
            if report is not None:
                self._print(f"{name} (archive)", report)
            if report is None or report.intact:
                report = verify_chain(organization_id, chunk_size=chunk_size)
                self._print(name, report, staged=_staged(organization_id))
            if not report.intact:
                broken.append((name, report))
        if broken:
            first_name, first = broken[0]
            raise CommandError(
                f"Ledger broken in {len(broken)} chain(s); first: {first_name}, sequence "
                f"{first.broken.sequence}{_entry(first.broken)} in {first.broken.where}: "
                f"{first.broken.problem}.",
                returncode=EXIT_BROKEN,
            )
        self.stdout.write(self.style.SUCCESS(f"All {len(chains)} chain(s) intact."))

    def _print(self, name: str, report: ChainReport, staged: int = 0) -> None:
        if report.intact:
            # Staged entries have no place in the chain yet: the next check covers them.
            waiting = f" ({staged} staged, awaiting their seal)" if staged else ""
            self.stdout.write(f"{name}: {report.checked} entries checked, intact{waiting}")
            return
        self.stdout.write(
            self.style.ERROR(
                f"{name}: BROKEN at sequence {report.broken.sequence}{_entry(report.broken)} in "
                f"{report.broken.where}: {report.broken.problem}; "
                f"{report.checked} entries before it are intact"
            )
        )


def _find_organization(value: str) -> Organization:
    org = Organization.objects.filter(slug=value).first()
    if org is None and value.isdigit():
        org = Organization.objects.filter(pk=int(value)).first()
    if org is None:
        raise CommandError(
            f"Unknown organization {value!r} (give its slug or numeric id).", returncode=EXIT_USAGE
        )
    return org


def _entry(broken) -> str:
    return f" (entry id {broken.entry_id})" if broken.entry_id is not None else ""


def _label(org: Organization) -> str:
    return f"organization {org.slug} (id {org.pk})"


def _staged(organization_id) -> int:
    return LedgerEntry.all_entries.filter(organization_id=organization_id, sequence__isnull=True).count()
