"""``manage.py verify_postmortem <id>``: each timeline row against its ledger entry, then the chain."""

from django.core.management.base import BaseCommand, CommandError

from knowledge.postmortems.models import Postmortem
from knowledge.postmortems.selectors import verify_postmortem


class Command(BaseCommand):
    help = "Check a postmortem's timeline hashes against the ledger (and the ledger chain itself)."

    def add_arguments(self, parser):
        parser.add_argument("postmortem_id", type=int)

    def handle(self, *args, postmortem_id, **options):
        postmortem = Postmortem.objects.filter(pk=postmortem_id).first()
        if postmortem is None:
            raise CommandError(f"No postmortem {postmortem_id}.")
        result = verify_postmortem(postmortem)
        for problem in result.problems:
            self.stderr.write(f"sequence {problem.sequence}: {problem.problem}")
        if not result.chain_intact:
            self.stderr.write(f"ledger chain broken at {result.chain_problem}")
        if not result.ok:
            raise CommandError(f"Postmortem {postmortem_id}: the timeline does not match the ledger.")
        self.stdout.write(f"Postmortem {postmortem_id}: {result.checked} timeline entries match the ledger.")
