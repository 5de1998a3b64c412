"""Scheduled maintenance reaches subscribers when it is scheduled, when it starts and when it ends, by
itself: the maintenance tick posts the start and the end once each, however often or concurrently it
runs, and the outbox sends each to every subscriber once (a real HTTP receiver and SMTP server)."""

import email
import threading
from datetime import timedelta
from email import policy

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from incidents.ingest.services.maintenance_windows import maintenance_window_create
from monitoring.statuspages import services, tasks
from monitoring.statuspages.delivery import run_delivery_tick
from monitoring.statuspages.models import StatusDelivery, StatusNotice, StatusNoticeUpdate
from monitoring.statuspages.services import run_maintenance_tick
from tests.at_once import at_once
from tests.ledger import entries, verbs
from tests.monitoring.statuspages.conftest import signature_valid

SECOND = timedelta(seconds=1)


def schedule(actor_as, page, *, starts_in=timedelta(hours=1), hours=1, **values):
    start = timezone.now().replace(microsecond=0) + starts_in
    return services.maintenance_schedule(
        actor=actor_as("operator"),
        page=page,
        title="Database upgrade",
        body="We upgrade the primary database; sign-ins may be slow.",
        scheduled_for=start,
        scheduled_until=start + timedelta(hours=hours),
        **values,
    )


def statuses(notice) -> list[tuple[str, str]]:
    return [(u.status, u.transition) for u in notice.updates.order_by("created_at", "pk")]


@pytest.mark.django_db
def test_subscribers_hear_of_it_when_scheduled_started_and_completed(
    page, components, hook, reader, receiver, smtp, actor_as
):
    secret = hook[1]
    notice = schedule(actor_as, page, components=[components[0]])
    start, end = notice.scheduled_for, notice.scheduled_until
    assert notice.transition_due_at == start  # the timer lives in the row: a restart loses nothing
    assert run_delivery_tick() == 2

    assert run_maintenance_tick(now=start - SECOND) == 0
    assert run_maintenance_tick(now=start + SECOND) == 1
    assert run_maintenance_tick(now=start + SECOND) == 0  # the same tick again: nothing more
    notice.refresh_from_db()
    assert (notice.status, notice.transition_due_at, notice.resolved_at) == ("in_progress", end, None)
    started = notice.updates.get(transition="start")
    assert started.author is None and started.body == "The scheduled maintenance is now in progress."
    assert {c["name"]: c["status"] for c in started.component_states}["API"] == "under_maintenance"
    assert run_delivery_tick() == 2

    assert run_maintenance_tick(now=end - SECOND) == 0
    assert run_maintenance_tick(now=end + SECOND) == 1
    assert run_maintenance_tick(now=end + 2 * SECOND) == 0
    notice.refresh_from_db()
    assert (notice.status, notice.transition_due_at) == ("completed", None)
    assert notice.resolved_at == end + SECOND
    ended = notice.updates.get(transition="end")
    assert {c["name"]: c["status"] for c in ended.component_states}["API"] == "operational"
    assert run_delivery_tick() == 2
    assert run_delivery_tick() == 0

    assert statuses(notice) == [("scheduled", ""), ("in_progress", "start"), ("completed", "end")]
    assert verbs(notice) == [
        "status_notice.opened",
        "status_notice.updated",
        "status_notice.maintenance_started",
        "status_notice.maintenance_completed",
    ]
    [started_entry] = entries("status_notice.maintenance_started", target=notice)
    assert started_entry.data["transition"] == "start" and started_entry.data["queued"] == 2

    bodies = [r.json() for r in receiver.requests]
    assert [(b["update"]["status"], b["update"]["automatic"]) for b in bodies] == [
        ("scheduled", None),
        ("in_progress", "start"),
        ("completed", "end"),
    ]
    assert all(signature_valid(secret, r) for r in receiver.requests)
    assert bodies[1]["notice"]["scheduled_for"] == start.isoformat().replace("+00:00", "Z")
    assert len({r.headers["x-opsplatform-delivery"] for r in receiver.requests}) == 3
    subjects = [email.message_from_bytes(m.content, policy=policy.default)["Subject"] for m in smtp]
    assert subjects == [
        "[Acme status] Database upgrade: Scheduled",
        "[Acme status] Database upgrade: In progress",
        "[Acme status] Database upgrade: Completed",
    ]
    assert StatusDelivery.objects.filter(status="sent").count() == 6


@pytest.mark.django_db
def test_an_operator_who_starts_or_completes_by_hand_takes_that_step_off_the_tick(page, actor_as):
    early = schedule(actor_as, page)
    services.notice_update(
        actor=actor_as("operator"), notice=early, status="in_progress", body="Started early."
    )
    early.refresh_from_db()
    assert early.transition_due_at == early.scheduled_until
    assert run_maintenance_tick(now=early.scheduled_for + SECOND) == 0
    assert run_maintenance_tick(now=early.scheduled_until + SECOND) == 1
    assert statuses(early) == [("scheduled", ""), ("in_progress", ""), ("completed", "end")]

    done = schedule(actor_as, page, starts_in=timedelta(hours=3))
    services.notice_update(actor=actor_as("operator"), notice=done, status="completed", body="Cancelled.")
    done.refresh_from_db()
    assert done.transition_due_at is None
    assert run_maintenance_tick(now=done.scheduled_until + SECOND) == 0
    assert statuses(done) == [("scheduled", ""), ("completed", "")]


@pytest.mark.django_db
def test_a_window_no_tick_saw_start_is_reported_completed_only(page, actor_as):
    notice = schedule(actor_as, page)
    assert run_maintenance_tick(now=notice.scheduled_until + timedelta(minutes=5)) == 1
    assert statuses(notice) == [("scheduled", ""), ("completed", "end")]


@pytest.mark.django_db
def test_the_database_refuses_a_second_start(page, actor_as):
    notice = schedule(actor_as, page)
    run_maintenance_tick(now=notice.scheduled_for + SECOND)
    with pytest.raises(IntegrityError), transaction.atomic():
        StatusNoticeUpdate.objects.create(
            organization=notice.organization,
            notice=notice,
            status="in_progress",
            body="again",
            transition="start",
        )
    assert notice.updates.filter(transition="start").count() == 1


@pytest.mark.django_db
def test_a_maintenance_window_of_the_incidents_app_reaches_subscribers_through_its_notice(
    page, service, hook, receiver, actor_as
):
    starts = timezone.now().replace(microsecond=0) + timedelta(hours=1)
    window = maintenance_window_create(
        actor=actor_as("manager"),
        name="DB upgrade",
        service=service,
        starts_at=starts,
        ends_at=starts + timedelta(hours=2),
    )
    notice = services.maintenance_schedule(
        actor=actor_as("operator"),
        page=page,
        title="Database upgrade",
        body="Planned.",
        scheduled_for=None,
        scheduled_until=None,
        maintenance_window=window,
    )
    assert notice.transition_due_at == window.starts_at
    run_maintenance_tick(now=window.starts_at + SECOND)
    run_maintenance_tick(now=window.ends_at + SECOND)
    run_delivery_tick()
    assert [r.json()["update"]["status"] for r in receiver.requests] == [
        "scheduled",
        "in_progress",
        "completed",
    ]


@pytest.mark.django_db
def test_the_beat_task_starts_what_is_due_and_sends_it(page, hook, receiver, actor_as):
    schedule(actor_as, page, starts_in=-timedelta(minutes=1))
    tasks.delivery_tick()
    assert [r.json()["update"]["automatic"] for r in receiver.requests] == [None, "start"]


def run_concurrently(call, times: int) -> list:
    results, errors = at_once(call, times)
    assert errors == []
    return results


@pytest.mark.django_db(transaction=True)
def test_concurrent_ticks_start_and_end_once_and_send_once(page, hook, receiver, actor_as):
    notice = schedule(actor_as, page)
    start, end = notice.scheduled_for, notice.scheduled_until
    assert sum(run_concurrently(lambda: run_maintenance_tick(now=start + SECOND), 3)) == 1
    assert sum(run_concurrently(lambda: run_maintenance_tick(now=end + SECOND), 3)) == 1
    assert statuses(notice) == [("scheduled", ""), ("in_progress", "start"), ("completed", "end")]
    assert entries("status_notice.maintenance_started", target=notice).count() == 1
    assert entries("status_notice.maintenance_completed", target=notice).count() == 1

    assert sum(run_concurrently(run_delivery_tick, 3)) == 3
    assert len(receiver.requests) == 3
    assert len({r.headers["x-opsplatform-delivery"] for r in receiver.requests}) == 3


@pytest.mark.django_db(transaction=True)
def test_a_notice_another_tick_holds_is_skipped_then_taken_once(page, actor_as):
    notice = schedule(actor_as, page)
    start = notice.scheduled_for + SECOND
    locked, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                StatusNotice.objects.select_for_update().get(pk=notice.pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(10)
        assert run_maintenance_tick(now=start) == 0  # SKIP LOCKED: the other tick has it
    finally:
        release.set()
        holder.join()
    assert run_maintenance_tick(now=start) == 1
    assert run_maintenance_tick(now=start) == 0
    assert statuses(notice) == [("scheduled", ""), ("in_progress", "start")]
