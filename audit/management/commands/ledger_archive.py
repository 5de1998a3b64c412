"""``manage.py ledger_archive [--organization SLUG] [--dry-run]``: move ledger entries older than the
hot window (retention kind ``ledger_hot``) to the archive under signed checkpoints, now."""

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Archive ledger spans older than each organization's hot window (signed checkpoints)."

    def add_arguments(self, parser):
        parser.add_argument("--organization", metavar="SLUG_OR_ID", help="Only this organization's chain.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Say what would be archived; change nothing."
        )

    def handle(self, *args, organization=None, dry_run=False, **options):
        call_command(
            "retention_run",
            kind="ledger_hot",
            organization=organization,
            dry_run=dry_run,
            stdout=self.stdout,
            stderr=self.stderr,
        )
