"""Ingestion locks an incident as its writers do (FOR NO KEY UPDATE), so a transaction that only
inserts rows pointing at the incident (its foreign key holds the incident FOR KEY SHARE: an
escalation's pages, an automation's tasks) does not hold up its alerts; a writer of the incident
itself still does."""

import threading

import pytest
from django.db import connections
from django.test import Client

from incidents.models import Alert, Incident
from tests.incidents.ingest.payloads import alertmanager, am_alert, am_url, pd_trigger, post
from tests.incidents.ingest.test_first_triggers import ENQUEUE, _post_in_thread
from tests.incidents.ingest.test_group_commit import _another_connection

pytestmark = pytest.mark.django_db(transaction=True)


def _held(dedup_key: str, mode: str):
    holder = _another_connection()
    holder.execute(f"SELECT id FROM incidents_incident WHERE dedup_key = %s FOR {mode}", [dedup_key])  # noqa: S608
    return holder


@pytest.mark.parametrize("repeats", [1, 4])
def test_repeats_pass_a_transaction_that_holds_their_incident_for_a_foreign_key(make_integration, repeats):
    _, key = make_integration("pagerduty")
    assert post(Client(), ENQUEUE, pd_trigger(key, dedup_key="shared")).status_code == 202
    holder = _held("shared", "KEY SHARE")
    answers = []
    try:
        threads = [_post_in_thread(key, "shared", answers) for _ in range(repeats)]
        for thread in threads:
            thread.join(15)
        assert answers == [202] * repeats  # answered while the holder still holds its lock
    finally:
        holder.rollback()
        holder.close()
    incident = Incident.objects.get(dedup_key="shared")
    assert incident.alert_occurrences == 1 + repeats
    assert Alert.objects.get(incident=incident).occurrences == 1 + repeats


def test_a_batch_passes_it_too_and_a_writer_of_the_incident_still_holds_it_up(make_integration):
    _, key = make_integration("alertmanager")
    path = am_url(key)
    first = alertmanager(am_alert("cpu", starts="2026-01-01T00:00:00Z"))
    assert post(Client(), path, first).status_code == 202
    incident = Incident.objects.get()
    # A new episode of the alert (a refire) and a new alert: the batch locks the incident to change it.
    again = alertmanager(am_alert("cpu", starts="2026-01-02T00:00:00Z"), am_alert("disk"))
    holder = _held(incident.dedup_key, "KEY SHARE")
    try:
        answers, done = _send(path, again)
        assert done.wait(15)  # answered while the holder still holds its lock
    finally:
        holder.rollback()
        holder.close()
    assert answers == [202]

    writer = _held(incident.dedup_key, "NO KEY UPDATE")
    try:
        answers, done = _send(path, alertmanager(am_alert("cpu", starts="2026-01-03T00:00:00Z")))
        assert not done.wait(0.5)  # the incident's own writer comes first
    finally:
        writer.rollback()
        writer.close()
    assert done.wait(15)
    assert answers == [202]


def _send(path, body):
    """POST ``body`` on a thread of its own: (its status codes once answered, set when answered)."""
    answers, done = [], threading.Event()

    def run():
        try:
            answers.append(post(Client(), path, body).status_code)
        finally:
            connections.close_all()
            done.set()

    threading.Thread(target=run, daemon=True).start()
    return answers, done
