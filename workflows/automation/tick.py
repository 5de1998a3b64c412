"""The automation beat tick: read the ledger into executions, then run what is due."""

from django.utils import timezone

from workflows.automation.consumer import consume
from workflows.automation.runner import run_due


def run_automation_tick(now=None) -> dict:
    now = now or timezone.now()
    planned = consume(now=now)
    return {"planned": planned, **run_due(now=now)}
