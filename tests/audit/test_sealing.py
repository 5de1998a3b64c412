"""Staged ledger entries and their seal: hot writers stage without the chain's lock, and the sealer
chains what they staged, in order, after their commit."""

import asyncio
import contextlib
import io
import threading
import time

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from audit.hashing import GENESIS_HASH, chain_link, digest_of
from audit.models import LedgerEntry
from audit.sealing import seal, seal_pending, staged_chains
from audit.services import record, record_many
from audit.verification import verify_chain
from opsplatform.core.actors import Actor
from opsplatform.realtime.groups import organization_group
from tests.accounts.factories import TeamFactory

pytestmark = pytest.mark.usefixtures("deferred")


@pytest.fixture
def deferred(settings):
    settings.LEDGER_SEAL_DEFERRED = True


def stage(team, *verbs):
    return record_many(job="test", entries=[(team, verb, {"n": n}) for n, verb in enumerate(verbs)])


def sealed_chain(organization):
    return list(LedgerEntry.objects.filter(organization=organization).order_by("sequence"))


@pytest.fixture
def person(org, users):
    """A person's entries are appended inline (a system job's are staged, as the hot writers')."""
    return Actor.for_member(users["operator"], org)


def append_inline(actor, organization, verb):
    try:
        record(actor=actor, verb=verb, organization=organization)
    finally:
        connection.close()


def eventually(check, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not sealed in time"
        time.sleep(0.05)


@pytest.mark.django_db
def test_staged_entries_wait_outside_the_chain_until_sealed(org, team):
    staged = stage(team, "test.one", "test.two", "test.three")

    assert [entry.sequence for entry in staged] == [None, None, None]
    assert sealed_chain(org) == []
    assert LedgerEntry.all_entries.filter(organization=org, sequence__isnull=True).count() == 3
    assert staged_chains() == [org.pk]

    assert seal(org.pk) == 3

    entries = sealed_chain(org)
    assert [(e.sequence, e.verb) for e in entries] == [(1, "test.one"), (2, "test.two"), (3, "test.three")]
    assert entries[0].prev_hash == GENESIS_HASH
    assert all(e.entry_hash == digest_of(e) for e in entries)
    assert all(e.entry_hash == chain_link(e.prev_hash, e.sequence, e.staged_digest) for e in entries)
    report = verify_chain(org.pk)
    assert report.intact and report.checked == 3
    assert staged_chains() == []
    assert seal(org.pk) == 0


@pytest.mark.django_db
def test_inline_appends_and_staged_entries_share_one_intact_chain(org, team, person):
    record(actor=person, verb="test.inline.first", organization=org)
    stage(team, "test.staged.a", "test.staged.b")
    record(actor=person, verb="test.inline.second", organization=org)

    seal(org.pk)

    assert [e.verb for e in sealed_chain(org)] == [
        "test.inline.first",
        "test.inline.second",
        "test.staged.a",
        "test.staged.b",
    ]
    report = verify_chain(org.pk)
    assert report.intact and report.checked == 4


@pytest.mark.django_db
def test_the_sweep_seals_every_chain_left_staged(org, other_org, team):
    other_team = TeamFactory(organization=other_org, name="Ops", slug="ops")
    stage(team, "test.a", "test.b")
    stage(other_team, "test.c")

    assert seal_pending() == 3

    assert staged_chains() == []
    assert verify_chain(org.pk).checked == 2
    assert verify_chain(other_org.pk).checked == 1


def refused(sql: str, params) -> str:
    with pytest.raises(DatabaseError) as caught, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
    return str(caught.value)


@pytest.mark.django_db
def test_a_staged_entry_takes_no_change_but_its_own_seal(org, team):
    (entry,) = stage(team, "test.staged")

    assert "append-only" in refused(
        "UPDATE audit_ledgerentry SET verb = 'test.forged' WHERE id = %s", [entry.pk]
    )
    # A place in the chain with any hash but the one of its staged digest.
    assert "append-only" in refused(
        "UPDATE audit_ledgerentry SET sequence = 1, prev_hash = %s, entry_hash = %s WHERE id = %s",
        [GENESIS_HASH, "f" * 64, entry.pk],
    )
    # Its right hash, but its content changed on the way.
    right = chain_link(GENESIS_HASH, 1, entry.staged_digest)
    assert "append-only" in refused(
        "UPDATE audit_ledgerentry SET sequence = 1, prev_hash = %s, entry_hash = %s, data = '{}'"
        " WHERE id = %s",
        [GENESIS_HASH, right, entry.pk],
    )
    assert "append-only" in refused("DELETE FROM audit_ledgerentry WHERE id = %s", [entry.pk])

    seal(org.pk)

    entry = LedgerEntry.objects.get(pk=entry.pk)
    assert (entry.sequence, entry.verb, entry.data) == (1, "test.staged", {"n": 0})
    # Sealed, it is as immutable as any entry.
    assert "append-only" in refused(
        "UPDATE audit_ledgerentry SET sequence = 2, prev_hash = %s, entry_hash = %s WHERE id = %s",
        [GENESIS_HASH, chain_link(GENESIS_HASH, 2, entry.staged_digest), entry.pk],
    )


@pytest.mark.django_db
def test_a_forged_staged_entry_is_sealed_and_then_caught(org, team):
    """Anyone who can insert can stage an entry whose digest lies about its content; the seal
    chains the digest as given, and verification recomputes it from the content."""
    stage(team, "test.honest")
    (forged,) = stage(team, "test.forged")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_ledgerentry (organization_id, actor_type, actor_id, actor_label, verb,"
            " target_type, target_id, data, created_at, staged_digest, hash_version)"
            " SELECT organization_id, actor_type, actor_id, actor_label, 'test.lie', target_type,"
            " target_id, data, created_at, staged_digest, 2 FROM audit_ledgerentry WHERE id = %s",
            [forged.pk],
        )

    seal(org.pk)

    report = verify_chain(org.pk)
    assert not report.intact
    assert report.broken.sequence == 3
    assert "altered" in report.broken.problem


@pytest.mark.django_db(transaction=True)
def test_the_writers_process_seals_after_commit_without_the_writer_waiting(org, team, person):
    with transaction.atomic():
        staged = stage(team, "test.committed")
        # Staged only: nothing holds the chain, so a concurrent inline append is not blocked.
        other = threading.Thread(target=append_inline, args=(person, org, "test.concurrent"))
        other.start()
        other.join(timeout=10)
        assert not other.is_alive()

    eventually(lambda: LedgerEntry.objects.filter(pk=staged[0].pk).exists())
    assert [e.verb for e in sealed_chain(org)] == ["test.concurrent", "test.committed"]
    assert verify_chain(org.pk).intact


@pytest.mark.django_db(transaction=True)
def test_rolled_back_staging_leaves_nothing_to_seal(org, team):
    with pytest.raises(RuntimeError), transaction.atomic():
        stage(team, "test.rolled.back")
        raise RuntimeError("the change failed")

    assert LedgerEntry.all_entries.filter(organization=org).count() == 0
    assert seal_pending() == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_stagers_end_in_one_contiguous_intact_chain(org, team, person):
    threads_count, per_thread = 6, 10
    start = threading.Barrier(threads_count)
    errors = []

    def write(worker: int) -> None:
        try:
            start.wait()
            for n in range(per_thread):
                with transaction.atomic():
                    stage(team, f"test.w{worker}.{n}")
                    if n % 3 == 0:
                        record(actor=person, verb="test.inline", organization=org)
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    written = threads_count * per_thread + threads_count * 4
    eventually(lambda: LedgerEntry.objects.filter(organization=org).count() == written)
    assert [e.sequence for e in sealed_chain(org)] == list(range(1, written + 1))
    report = verify_chain(org.pk)
    assert report.intact and report.checked == written


@pytest.mark.django_db
def test_verify_ledger_names_entries_awaiting_their_seal(org, team, person):
    record(actor=person, verb="test.inline", organization=org)
    stage(team, "test.a", "test.b")
    out = io.StringIO()

    call_command("verify_ledger", organization="acme", stdout=out)

    assert (
        f"organization acme (id {org.pk}): 1 entries checked, intact (2 staged, awaiting their seal)"
        in out.getvalue()
    )


@pytest.mark.django_db
def test_a_row_that_cannot_be_sealed_keeps_no_chain_waiting(org, other_org, team):
    """A staged row without a digest (not written by the app) is passed over: the entries around it
    and every other chain are sealed, and it stays outside the chain for an operator to see."""
    other_team = TeamFactory(organization=other_org, name="Ops", slug="ops")
    stage(team, "test.before")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_ledgerentry (organization_id, actor_type, actor_id, actor_label, verb,"
            " target_type, target_id, data, created_at, hash_version)"
            " VALUES (%s, 'system', '', '', 'test.stray', '', '', '{}', now(), 2)",
            [org.pk],
        )
    stage(team, "test.after")
    stage(other_team, "test.elsewhere")

    assert seal_pending() == 3

    assert [e.verb for e in sealed_chain(org)] == ["test.before", "test.after"]
    assert [e.verb for e in sealed_chain(other_org)] == ["test.elsewhere"]
    assert list(LedgerEntry.all_entries.filter(sequence__isnull=True).values_list("verb", flat=True)) == [
        "test.stray"
    ]
    assert verify_chain(org.pk).intact


@pytest.mark.django_db(transaction=True)
def test_the_sealers_pushes_reach_live_pages_in_chain_order(org, team):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(organization_group(org.pk), channel)

    staged = []
    for verb in ("test.first", "test.second", "test.third"):
        with transaction.atomic():
            staged += stage(team, verb)
        eventually(lambda pk=staged[-1].pk: LedgerEntry.objects.filter(pk=pk).exists())

    async def receive():
        return await asyncio.wait_for(layer.receive(channel), timeout=5)

    events = [async_to_sync(receive)()["event"] for _ in staged]
    assert [(e["kind"], e["verb"], e["sequence"]) for e in events] == [
        ("ledger", "test.first", 1),
        ("ledger", "test.second", 2),
        ("ledger", "test.third", 3),
    ]


@pytest.mark.django_db
def test_a_jobs_entry_is_staged_and_a_persons_appended(org, person):
    job = record(actor=Actor.system("test.job", organization=org), verb="test.job", organization=org)
    own = record(actor=person, verb="test.person", organization=org)

    assert job.sequence is None and own.sequence == 1
    assert [e.verb for e in sealed_chain(org)] == ["test.person"]
    assert seal(org.pk) == 1
    assert [e.verb for e in sealed_chain(org)] == ["test.person", "test.job"]
    assert verify_chain(org.pk).intact


@contextlib.contextmanager
def kept_open(write):
    """``write`` done in a transaction of another thread (a connection of its own), kept open until
    the block ends; meanwhile a lock wait on this connection fails after 2 s instead of hanging."""
    written, release, errors = threading.Event(), threading.Event(), []

    def run():
        try:
            with transaction.atomic():
                write()
                written.set()
                assert release.wait(30)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert written.wait(30), errors
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")
        yield
    finally:
        release.set()
        thread.join(30)
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    assert errors == []


@pytest.mark.django_db(transaction=True)
def test_a_jobs_open_transaction_holds_no_one_up(org, person):
    """A job (a playbook run, an automation step) records and goes on working in its transaction;
    a person's change meanwhile appends at once instead of waiting for that commit."""
    job = Actor.system("test.job", organization=org)
    with kept_open(lambda: record(actor=job, verb="test.job", organization=org)):
        own = record(actor=person, verb="test.person", organization=org)
        assert own.sequence == 1
    eventually(lambda: len(sealed_chain(org)) == 2)
    assert [e.verb for e in sealed_chain(org)] == ["test.person", "test.job"]
    assert verify_chain(org.pk).intact


@pytest.mark.django_db(transaction=True)
def test_a_sealer_finding_the_chain_held_comes_back_instead_of_waiting(org, team, person):
    """A sealer waiting for the chain would hold a connection of its process's pool; the holder
    seals what was staged before it began, and the sealer comes back for the rest."""
    # A person's change appends inline: it holds the chain until its commit.
    with kept_open(lambda: record(actor=person, verb="test.inline", organization=org)):
        with transaction.atomic():
            staged = stage(team, "test.staged")  # its commit asks this process's sealer to seal
        assert seal(org.pk, wait=False) is None
        # The sealer comes back until the chain is free, meanwhile holding no connection waiting.
        time.sleep(0.3)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND wait_event = 'advisory'"
            )
            assert cursor.fetchone()[0] == 0
        assert not LedgerEntry.objects.filter(pk=staged[0].pk).exists()
    eventually(lambda: LedgerEntry.objects.filter(pk=staged[0].pk).exists())
    assert [e.verb for e in sealed_chain(org)] == ["test.inline", "test.staged"]
    assert verify_chain(org.pk).intact
