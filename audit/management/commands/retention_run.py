"""``manage.py retention_run [--kind KIND] [--organization SLUG] [--dry-run]``: run retention now.

The beat tick runs the same jobs on their schedule; this runs them at once, to see what a change
of settings would remove (``--dry-run`` counts and removes nothing) or to catch up after a pause.
"""

from django.core.management.base import BaseCommand, CommandError

from audit.management.commands.verify_ledger import EXIT_USAGE, _find_organization
from audit.retention.registry import BY_KEY, KINDS
from audit.retention.runner import run_kind


class Command(BaseCommand):
    help = "Run retention (batched deletes and the ledger archive) for every kind of data, or one."

    def add_arguments(self, parser):
        parser.add_argument("--kind", choices=sorted(BY_KEY), help="Only this kind of data.")
        parser.add_argument("--organization", metavar="SLUG_OR_ID", help="Only this organization.")
        parser.add_argument("--dry-run", action="store_true", help="Count what would go; remove nothing.")

    def handle(self, *args, kind=None, organization=None, dry_run=False, **options):
        org_id = _find_organization(organization).pk if organization else None
        if kind and org_id is not None and not BY_KEY[kind].per_organization:
            raise CommandError(f"{kind} is deployment-wide; drop --organization.", returncode=EXIT_USAGE)
        kinds = [BY_KEY[kind]] if kind else list(KINDS)
        total = 0
        for data_kind in kinds:
            if org_id is not None and not data_kind.per_organization:
                continue
            for outcome in run_kind(data_kind, organization_id=org_id, dry_run=dry_run):
                owner = (
                    "deployment"
                    if outcome.organization_id is None
                    else f"organization {outcome.organization_id}"
                )
                verb = "would remove" if dry_run else "removed"
                state = "" if outcome.finished else " (stopped early; run again)"
                self.stdout.write(
                    f"{data_kind.key} [{owner}] keep {outcome.days} days: {verb} {outcome.removed}{state}"
                )
                total += outcome.removed
        self.stdout.write(self.style.SUCCESS(f"{'Would remove' if dry_run else 'Removed'} {total} in all."))
