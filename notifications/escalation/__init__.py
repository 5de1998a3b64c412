"""On-call and notifications: escalation. One beat tick pages people when an incident's timer falls
due (``tick``); the step's targets are resolved to people and channels, and each to outbox rows
(``targets``).

The timer is ``incidents_incident.next_escalation_at``; the position is ``escalation_step`` (the next
step to run; ``len(steps)`` once the last one ran, ``len(steps) + 1`` once the policy is exhausted)
and ``escalation_cycle`` (how many times the policy has started over). A tick:

1. claims due incidents, each with a session advisory lock (a second tick running at the same time
   skips them and takes others; nobody waits),
2. works out the current step, with no incident row locked: resolves its targets to people and
   channels, and each to one outbox row per (recipient, contact method or channel),
3. locks the incidents whose escalation nobody changed meanwhile, writes their outbox rows with
   ``INSERT … ON CONFLICT DO NOTHING`` on the unique idempotency key, moves their position on, sets
   the next due time and records the step in the ledger,

the writes of step 3 in one transaction per batch: the step, its outbox rows and the timer commit
together or not at all. An incident an operator acknowledged, snoozed or escalated during step 2 is
left out of step 3 (``claims``). Within the batch each incident's step is its own unit: one that
fails (a broken stored row, a bug) is retried with backoff, moved past, or parked (``failures``),
and never stops or repeats the paging of the other incidents of the batch.

Fencing: the idempotency key contains the incident's ``escalation_epoch`` (bumped by every human
change of the escalation: acknowledge, escalate now, reopen, snooze), the cycle and the step. Work
done twice under one epoch (a retried task, a duplicate tick that somehow got the same row) inserts
nothing twice; work under a newer epoch is new work. Acknowledge and resolve clear the timer, so the
tick never sees those incidents again; "escalate now" sets the timer to now, so the next step runs
at the next tick instead of after its delay.
"""

from notifications.escalation.targets import idempotency_key
from notifications.escalation.tick import TickResult, run_escalation_tick

__all__ = ["TickResult", "idempotency_key", "run_escalation_tick"]
