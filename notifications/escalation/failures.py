"""On-call and notifications: what the escalation tick does when one incident's step fails.

A step can fail on stored data no service would write today (a team time zone since removed from
the tz database, a channel recipient longer than its column, a row left behind by an old version)
or on a bug. The tick isolates each incident (see ``tick``), so the others of the batch are paged
as usual; the failing one is handled like a delivery that failed:

1. Retried with backoff (``STEP_RETRY_SECONDS``): the cause may be transient (a lock timeout, a
   deploy in progress) or repaired by a person meanwhile, and then the escalation simply goes on.
2. After ``MAX_STEP_ATTEMPTS`` the step is given up and the escalation moves to the next level at
   once: the people of the broken level were never paged, so there is nothing to wait for, and a
   broken first level must not keep the second from being reached.
3. Only when even moving on fails is the escalation parked: the timer is cleared, the incident
   stays triggered in every list, and "escalate now" starts it again. A step failing every few
   minutes for ever would page nobody and only fill the ledger.

Every attempt writes an ``escalation.step_failed`` entry (the error's class, the attempt, the retry
time), so the incident's timeline says why nobody was paged; the count of attempts is read back
from those entries (one indexed lookup, only on this rare path) rather than kept in a column. The
log gets the traceback with the incident id; the ledger only the class name, since database error
messages quote the values they refused.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from audit.models import LedgerEntry
from incidents.models import Incident

logger = logging.getLogger(__name__)

STEP_FAILED = "escalation.step_failed"
STEP_SKIPPED = "escalation.step_skipped"
PARKED = "escalation.parked"

# Delay before attempt n + 1 after attempt n fails (about 7.5 minutes in all before moving on).
STEP_RETRY_SECONDS = (30, 60, 120, 240)
MAX_STEP_ATTEMPTS = len(STEP_RETRY_SECONDS) + 1


def _where(incident: Incident) -> dict:
    """The position the failing attempt was at, as the ledger entry names it (1-based, as shown)."""
    return {
        "epoch": incident.escalation_epoch,
        "step": incident.escalation_step + 1,
        "cycle": incident.escalation_cycle + 1,
    }


def _previous_attempts(incident: Incident) -> int:
    """Failed attempts already made at this position under this epoch ("escalate now", reopen and
    the like bump the epoch, and so start the attempts afresh)."""
    last = (
        LedgerEntry.objects.filter(
            organization_id=incident.organization_id,
            target_type="incidents.incident",
            target_id=str(incident.pk),
            verb=STEP_FAILED,
        )
        .order_by("-sequence")
        .values_list("data", flat=True)
        .first()
    )
    if not last or any(last.get(key) != value for key, value in _where(incident).items()):
        return 0
    return int(last.get("attempt", 0))


def step_failed(incident: Incident, exc: BaseException, now: datetime, events: list) -> bool:
    """Record a failed attempt of ``incident``'s step and set its retry time. Returns True when
    that was the last attempt: the caller then moves the escalation on (or parks it)."""
    attempt = _previous_attempts(incident) + 1
    last = attempt >= MAX_STEP_ATTEMPTS
    retry_at = None if last else now + timedelta(seconds=STEP_RETRY_SECONDS[attempt - 1])
    logger.error(
        "escalation step of incident %s failed (attempt %s of %s): %s",
        incident.pk,
        attempt,
        MAX_STEP_ATTEMPTS,
        type(exc).__name__,
        exc_info=exc,
    )
    incident.next_escalation_at = retry_at
    data = {
        **_where(incident),
        "attempt": attempt,
        "error": type(exc).__name__,
        "retry_at": retry_at.isoformat() if retry_at else None,
    }
    events.append((incident, STEP_FAILED, data))
    return last


def skipped(incident: Incident, data: dict, events: list) -> None:
    events.append((incident, STEP_SKIPPED, data))


def park(incident: Incident, exc: BaseException, events: list) -> None:
    """Moving past the failing step failed too: stop the timer, say so on the timeline."""
    logger.error(
        "escalation of incident %s parked: cannot move past its failing step: %s",
        incident.pk,
        type(exc).__name__,
        exc_info=exc,
    )
    incident.next_escalation_at = None
    events.append((incident, PARKED, {**_where(incident), "error": type(exc).__name__}))
