"""``manage.py monitor_agent --server URL --token opa_…``: run a probe agent (see monitoring/agent.py)."""

import argparse

from django.core.management.base import BaseCommand

from monitoring import agent


class Command(BaseCommand):
    help = "Check monitors from this machine as a probe location, reporting to the platform over HTTP."

    def add_arguments(self, parser):
        agent.build_parser(parser)

    def handle(self, *args, **options):
        agent.run_from(argparse.Namespace(**options))
