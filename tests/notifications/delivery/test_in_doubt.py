"""Claims the database holds but the tick does not: a claim whose answer was lost after it committed,
a claim whose cancellations failed, rows for a busy receiver that could not be given back. Each is
given back once the database answers (after the outcomes of requests in flight), so its pages go out
on the next tick instead of after the lease, and exactly once. Receivers are real HTTP servers on
loopback; the lost answer is lost by a real TCP link that cuts the connection."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import override_settings

from incidents.services import incident_resolve
from notifications.delivery import run_delivery_tick
from notifications.delivery.claim import ClaimInDoubt
from notifications.models import Notification, NotificationStatus
from tests.database_faults import fail_first
from tests.lossy_link import lossy_connection
from tests.notifications.ticks import escalate, storm_pages, verbs

pytestmark = [pytest.mark.usefixtures("allow_loopback", "fast_retries")]

GIVE_BACK = 'SET "status" = CASE WHEN'  # the give-back's UPDATE (claim.give_back)
CANCEL = "SET status = v.status"  # the cancellations' UPDATE (batch.save_rows)
OUTCOME = "claim_token_was"  # an outcome's fenced UPDATE


def _untried(row: Notification) -> tuple:
    row.refresh_from_db()
    return row.status, row.attempts, row.claim_token, row.lease_until


@pytest.fixture
def lossy_link(monkeypatch):
    with lossy_connection(monkeypatch) as link:
        yield link


@pytest.mark.django_db(transaction=True)
def test_a_claim_whose_answer_is_lost_gives_its_rows_back(webhook, open_incident, receiver, lossy_link):
    """The claim commits and the link is cut before its answer arrives (the database going down
    between the two). The rows are ``sending`` under a token the tick never saw: they used to wait
    for the lease (two minutes) before anyone paged."""
    incident, row = escalate(open_incident)
    t0 = row.next_attempt_at + timedelta(seconds=2)
    lossy_link.lose_answer_to(b"claimed AS (UPDATE")

    with pytest.raises(ClaimInDoubt):
        run_delivery_tick(now=t0)
    connection.close()  # as the task's end does

    assert lossy_link.cut.is_set()
    assert _untried(row) == (NotificationStatus.PENDING, 0, None, None)
    assert row.updated_at == t0, "the claim did not commit: nothing was in doubt"
    assert receiver.requests == []
    # The next tick, well within the lease, pages once.
    stats = run_delivery_tick(now=t0 + timedelta(seconds=1))
    assert (stats.claimed, stats.sent) == (1, 1)
    assert len(receiver.requests) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == (NotificationStatus.SENT, 1)
    assert [(a.number, a.outcome) for a in row.attempt_log.all()] == [(1, "sent")]
    assert verbs(incident) == ["notification.sent"]


@pytest.mark.django_db(transaction=True)
def test_a_claim_whose_cancellations_fail_gives_every_row_back(webhook, open_incident, receiver, actor_as):
    """The claim took a row to send and one of a resolved incident; cancelling the second fails.
    Both go back: the next claim sends the first once and cancels the second."""
    wanted, wanted_row = escalate(open_incident, title="Checkout errors")
    resolved, resolved_row = escalate(open_incident, title="Login errors")
    incident_resolve(actor=actor_as("operator"), incident=resolved)
    now = max(wanted_row.next_attempt_at, resolved_row.next_attempt_at)
    log: list[str] = []

    with connection.execute_wrapper(fail_first(CANCEL, log)), pytest.raises(ClaimInDoubt):
        run_delivery_tick(now=now)

    assert _untried(wanted_row) == (NotificationStatus.PENDING, 0, None, None)
    assert _untried(resolved_row) == (NotificationStatus.PENDING, 0, None, None)
    assert receiver.requests == []
    stats = run_delivery_tick(now=now)
    assert (stats.sent, stats.cancelled) == (1, 1)
    assert len(receiver.requests) == 1
    assert _untried(wanted_row)[:2] == (NotificationStatus.SENT, 1)
    assert _untried(resolved_row)[:2] == (NotificationStatus.CANCELLED, 0)
    assert verbs(wanted) == ["notification.sent"]
    assert "notification.cancelled" in verbs(resolved)


@pytest.mark.django_db(transaction=True)
@override_settings(NOTIFICATION_DELIVERY_PER_DESTINATION=1, NOTIFICATION_BUSY_DESTINATION_DEFER_SECONDS=30)
def test_rows_a_busy_receiver_could_not_give_back_go_back_after_the_outcomes(
    org, service, open_incident, receiver
):
    """Three pages for a receiver that takes one at a time: one is sent, one waits in the tick for
    the slot, the third goes back to the outbox, and that give-back fails. It is given back once no
    request is in flight (after the first outcome is stored), due after the deferral, untried."""
    now = storm_pages(org, service, open_incident, receiver, 3)
    receiver.delay = 0.2  # the first request is still in flight when the third row goes back
    log: list[str] = []

    with connection.execute_wrapper(fail_first(GIVE_BACK, log)):
        stats = run_delivery_tick(now=now, concurrency=4, batch_size=4)

    assert stats.sent == 2 and len(receiver.requests) == 2
    rows = list(Notification.objects.order_by("id"))
    assert [(r.status, r.attempts) for r in rows] == [
        (NotificationStatus.SENT, 1),
        (NotificationStatus.SENT, 1),
        (NotificationStatus.PENDING, 0),
    ]
    assert (rows[2].claim_token, rows[2].lease_until) == (None, None)
    assert rows[2].next_attempt_at == now + timedelta(seconds=30)
    give_backs = [n for n, sql in enumerate(log) if GIVE_BACK in sql]
    outcomes = [n for n, sql in enumerate(log) if OUTCOME in sql]
    assert len(give_backs) == 2 and outcomes[0] < give_backs[1]
    # Once the deferral has passed it is sent, once.
    assert run_delivery_tick(now=now + timedelta(seconds=31)).sent == 1
    assert len(receiver.requests) == 3
