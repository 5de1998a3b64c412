"""The automation beat tick: read the ledger into executions, run what is due, and again, until a
pass finds nothing left (or the time budget is spent).

During a storm a tick keeps going: each pass reads what arrived during the last one, so an event
waits for one pass, not for the next beat. Only one tick at a time loops (a session advisory lock):
the beat keeps sending ticks every few seconds, and the others make one pass each (sharing the due
rows through ``SKIP LOCKED``) and return, so the worker's other beat tasks are not starved.
"""

import contextlib
import time
import uuid
from collections import Counter

from django.core.cache import cache
from django.db.models import Exists, OuterRef
from django.utils import timezone

from audit.models import LedgerEntry
from workflows.automation.consumer import consume
from workflows.automation.models import DUE_STATES, AutomationCursor, AutomationExecution
from workflows.automation.runner import advance_approvals, run_batches

# A tick works through a backlog for at most this long, then leaves the rest to the next tick.
BUDGET_SECONDS = 20
# A pass that found the work held by another tick (a cursor, due rows) looks again after this.
HELD_PAUSE_SECONDS = 0.2
DRAIN_KEY = "workflows:automation:draining"


@contextlib.contextmanager
def _drainer(budget: float):
    """True if this tick is the one that loops. A key in the cache with a lifetime past the budget:
    a worker that dies mid-tick holds it no longer than that."""
    token = uuid.uuid4().hex
    try:
        held = cache.add(DRAIN_KEY, token, timeout=int(budget) + 30)
    except Exception:  # no cache: every tick makes its one pass, as the beat sends them
        held = False
    try:
        yield held
    finally:
        with contextlib.suppress(Exception):  # the key runs out by itself
            if held and cache.get(DRAIN_KEY) == token:
                cache.delete(DRAIN_KEY)


def work_left(now) -> bool:
    """Entries past a cursor, or executions due: what a pass that did nothing may have found held."""
    unread = LedgerEntry.objects.filter(
        organization_id=OuterRef("organization_id"), sequence__gt=OuterRef("sequence")
    )
    return (
        AutomationCursor.objects.filter(Exists(unread)).exists()
        or AutomationExecution.objects.filter(state__in=DUE_STATES, next_attempt_at__lte=now).exists()
    )


def run_automation_tick(now=None, budget: float = BUDGET_SECONDS) -> dict:
    deadline = time.monotonic() + budget
    totals = Counter({"approvals": 0, "planned": 0, "passes": 0})
    with _drainer(budget) as loops:
        while True:
            planned = consume(now=now or timezone.now(), deadline=deadline)
            # A risky action planned just now asks for its approval in the same pass.
            approvals = advance_approvals(now or timezone.now())
            ran = run_batches(now=now, deadline=deadline)
            totals.update(ran, planned=planned, approvals=approvals, passes=1)
            if not loops or time.monotonic() > deadline:
                return dict(totals)
            if not (planned or approvals or ran):
                if not work_left(now or timezone.now()):
                    return dict(totals)
                time.sleep(HELD_PAUSE_SECONDS)
