"""On-call and notifications: the Celery tasks. Two beat ticks and the verification-code sender.

Each is safe to run twice and concurrently (see ``escalation`` and ``delivery``): ticks take no
arguments and claim their own rows; the verification task takes ids and re-reads the row.
"""

import time

from celery import shared_task
from django.conf import settings

from incidents.ingest.escalate_soon import kick as kick_escalation
from notifications.delivery import run_delivery_tick
from notifications.delivery.verification import send_verification_code
from notifications.escalation import run_escalation_tick
from opsplatform.core.kicks import Kick

# One delivery tick waiting in the queue at most, however many escalation ticks paged someone.
kick_delivery = Kick("notifications.delivery_tick")


@shared_task(name="notifications.escalation_tick", ignore_result=True)
def escalation_tick() -> int:
    # While this tick waits, its kick's mark stays set, so new incidents send no other tick: in a
    # storm, a few ticks of many incidents rather than one per handful, each paying once for its
    # reads of policies, schedules and people.
    if settings.ESCALATION_GATHER_SECONDS > 0:
        time.sleep(settings.ESCALATION_GATHER_SECONDS)
    kick_escalation.started()
    result = run_escalation_tick()
    if result.notifications:
        # The rows are committed; deliver them now rather than at the next delivery beat.
        kick_delivery()
    return result.steps


@shared_task(name="notifications.delivery_tick", ignore_result=True)
def delivery_tick() -> int:
    kick_delivery.started()
    budget = settings.NOTIFICATION_DELIVERY_TICK_BUDGET_SECONDS
    stats = run_delivery_tick(time_budget=budget)
    if stats.out_of_time:
        # Rows were still due when the budget ran out: the next tick starts now, not at the beat.
        kick_delivery()
    return stats.sent


@shared_task(name="notifications.send_verification", ignore_result=True)
def send_verification(contact_id: int, nonce: str, organization_id: int | None) -> bool:
    """Send the code for ``nonce``; a newer request (another nonce) or a verified contact ends it."""
    return send_verification_code(contact_id, nonce, organization_id)
