"""The automation beat tick: read the ledger into executions, then run what is due."""

import time

from django.utils import timezone

from workflows.automation.consumer import consume
from workflows.automation.runner import run_due

# A tick works through a backlog for at most this long, then leaves the rest to the next tick.
BUDGET_SECONDS = 20


def run_automation_tick(now=None, budget: float = BUDGET_SECONDS) -> dict:
    deadline = time.monotonic() + budget
    planned = consume(now=now or timezone.now(), deadline=deadline)
    return {"planned": planned, **run_due(now=now, deadline=deadline)}
