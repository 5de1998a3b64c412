"""``manage.py ledger_restore --organization SLUG --table NAME [--from N] [--to M]``: copy archived
ledger entries into a scratch table ``ledger_restore_NAME`` for an investigation. The ledger itself
is untouched; drop the scratch table when done."""

from django.core.management.base import BaseCommand, CommandError

from audit.archive.backends import ArchiveMissing
from audit.archive.restore import restore_to_scratch
from audit.management.commands.verify_ledger import EXIT_USAGE, _find_organization


class Command(BaseCommand):
    help = "Copy archived ledger entries into a scratch table (ledger_restore_<table>)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--organization", metavar="SLUG_OR_ID", help="The chain (default: the platform chain)."
        )
        parser.add_argument("--table", required=True, help="Scratch table suffix: ledger_restore_<table>.")
        parser.add_argument("--from", dest="first", type=int, default=1, help="First sequence (default 1).")
        parser.add_argument("--to", dest="last", type=int, default=None, help="Last sequence (default: all).")

    def handle(self, *args, organization=None, table, first=1, last=None, **options):
        org_id = _find_organization(organization).pk if organization else None
        try:
            copied = restore_to_scratch(org_id, table=table, first=first, last=last)
        except ValueError as exc:
            raise CommandError(str(exc), returncode=EXIT_USAGE) from exc
        except ArchiveMissing as exc:
            raise CommandError(f"The archive is incomplete: {exc}", returncode=1) from exc
        self.stdout.write(self.style.SUCCESS(f"Copied {copied} entries into ledger_restore_{table}."))
