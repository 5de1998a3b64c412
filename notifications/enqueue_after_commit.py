"""On-call and notifications: Celery tasks enqueued once the transaction that made them necessary
has committed (a delivery tick after a resend, the verification code of a contact method).

Tasks are sent by name, so services do not import the task module (which imports the escalation tick
and the delivery worker); the beat ticks would pick the work up anyway, these only save the wait. A
broker outage must not fail the request whose change already committed: errors are logged and
swallowed.
"""

import logging

from celery import current_app
from django.db import transaction

logger = logging.getLogger(__name__)

DELIVERY_TICK = "notifications.delivery_tick"
SEND_VERIFICATION = "notifications.send_verification"


def _send(name: str, args: tuple = ()) -> None:
    try:
        current_app.send_task(name, args=args)
    except Exception:  # the broker is down; the beat tick catches up
        logger.warning("could not enqueue %s; the beat tick will pick the work up", name, exc_info=True)


def kick_delivery() -> None:
    """Run a delivery tick soon after commit instead of at the next beat."""
    transaction.on_commit(lambda: _send(DELIVERY_TICK))


def enqueue_verification(contact_id: int, nonce: str, organization_id: int | None) -> None:
    transaction.on_commit(lambda: _send(SEND_VERIFICATION, (contact_id, nonce, organization_id)))
