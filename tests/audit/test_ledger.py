"""Appending to the ledger: one hash chain per organization, written with the change it describes."""

import itertools
import threading

import pytest
from django.db import connection, transaction

from audit.hashing import GENESIS_HASH, digest_of
from audit.models import LedgerEntry
from audit.selectors import ledger_entries, timeline_for
from audit.services import record
from audit.verification import verify_chain
from opsplatform.core.actors import Actor, ActorKind


def chain(organization):
    return list(LedgerEntry.objects.filter(organization=organization).order_by("sequence"))


@pytest.mark.django_db
def test_each_organization_has_its_own_contiguous_chain(org, other_org):
    system = Actor.system("test")
    for n in range(3):
        record(actor=system, verb="test.org", organization=org, data={"n": n})
    record(actor=system, verb="test.other", organization=other_org)
    record(actor=system, verb="test.platform")

    acme = chain(org)
    assert [e.sequence for e in acme] == [1, 2, 3]
    assert [e.data for e in acme] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert [e.sequence for e in chain(other_org)] == [1]
    platform = LedgerEntry.objects.get(organization__isnull=True)
    assert platform.sequence == 1
    assert platform.prev_hash == GENESIS_HASH


@pytest.mark.django_db
def test_each_entry_links_to_its_predecessor_and_hashes_its_content(org):
    system = Actor.system("test")
    for n in range(4):
        record(actor=system, verb="test.linked", organization=org, data={"n": n})

    entries = chain(org)
    assert entries[0].prev_hash == GENESIS_HASH
    for previous, entry in itertools.pairwise(entries):
        assert entry.prev_hash == previous.entry_hash
    for entry in entries:
        entry.refresh_from_db()
        assert entry.entry_hash == digest_of(entry)
    assert len({e.entry_hash for e in entries}) == 4


@pytest.mark.django_db
def test_entry_names_actor_target_and_organization(org, team, actor_as, users):
    entry = record(
        actor=actor_as("manager"), verb="team.updated", target=team, data={"changes": {"name": "x"}}
    )

    entry.refresh_from_db()
    assert entry.organization_id == org.pk
    assert (entry.actor_type, entry.actor_id, entry.actor_label) == (
        ActorKind.USER,
        str(users["manager"].pk),
        "manager",
    )
    assert (entry.target_type, entry.target_id) == ("accounts.team", str(team.pk))


@pytest.mark.django_db
def test_numbers_jsonb_rewrites_still_verify(org):
    # JSONB stores 1e16 as the integer 10000000000000000 and -0.0 as 0.0; the stored hash must
    # describe what comes back, or an untouched entry would read as tampered.
    record(
        actor=Actor.system("test"), verb="test.numbers", organization=org, data={"big": 1e16, "neg0": -0.0}
    )

    entry = LedgerEntry.objects.get(organization=org)
    assert entry.data == {"big": 10**16, "neg0": 0.0}
    assert entry.entry_hash == digest_of(entry)
    assert verify_chain(org.pk).intact


@pytest.mark.django_db
def test_entry_rolls_back_with_the_failed_change(org):
    system = Actor.system("test")
    record(actor=system, verb="test.kept", organization=org)

    with pytest.raises(RuntimeError), transaction.atomic():
        record(actor=system, verb="test.lost", organization=org)
        raise RuntimeError("the change it describes failed")

    assert not LedgerEntry.objects.filter(verb="test.lost").exists()
    # The chain continues from the last committed entry: no gap where the lost one was.
    after = record(actor=system, verb="test.after", organization=org)
    after.refresh_from_db()
    assert after.sequence == 2
    assert after.prev_hash == LedgerEntry.objects.get(verb="test.kept").entry_hash
    assert verify_chain(org.pk).intact


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_to_one_organization_stay_contiguous(org):
    threads_count, per_thread = 8, 10
    start = threading.Barrier(threads_count)
    errors = []

    def append(worker: int) -> None:
        try:
            start.wait()
            for n in range(per_thread):
                with transaction.atomic():
                    record(
                        actor=Actor.system(f"worker-{worker}"),
                        verb="test.race",
                        organization=org,
                        data={"n": n},
                    )
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=append, args=(w,)) for w in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    sequences = [e.sequence for e in chain(org)]
    assert sequences == list(range(1, threads_count * per_thread + 1))
    report = verify_chain(org.pk)
    assert report.intact
    assert report.checked == threads_count * per_thread


@pytest.mark.django_db
def test_selector_filters_stay_inside_the_organization(org, other_org, team, actor_as, users):
    manager = actor_as("manager")
    record(actor=manager, verb="team.updated", target=team)
    record(actor=manager, verb="member.role_changed", data={})
    record(actor=actor_as("admin"), verb="member.removed")
    record(actor=Actor.system("test"), verb="member.removed", organization=other_org)

    def verbs(**filters):
        return [e.verb for e in ledger_entries(organization=org, **filters)]

    assert verbs() == ["member.removed", "member.role_changed", "team.updated"]
    assert verbs(verb="member.removed") == ["member.removed"]
    assert verbs(verb_prefix="member.") == ["member.removed", "member.role_changed"]
    assert verbs(actor_type=ActorKind.USER, actor_id=str(users["admin"].pk)) == ["member.removed"]
    assert verbs(performed_by=users["manager"]) == ["member.role_changed", "team.updated"]
    assert verbs(target_type="accounts.team", target_id=str(team.pk)) == ["team.updated"]
    assert verbs(actor_type=ActorKind.SYSTEM) == []


@pytest.mark.django_db
def test_selector_time_range_is_half_open(org):
    system = Actor.system("test")
    first = record(actor=system, verb="test.one", organization=org)
    second = record(actor=system, verb="test.two", organization=org)

    in_range = ledger_entries(organization=org, since=first.created_at, until=second.created_at)

    assert [e.verb for e in in_range] == ["test.one"]


@pytest.mark.django_db
def test_timeline_lists_one_target_in_order(org, team, other_team, actor_as):
    manager = actor_as("manager")
    record(actor=manager, verb="team.created", target=team)
    record(actor=manager, verb="team.unrelated")
    record(actor=manager, verb="team.updated", target=team)
    record(
        actor=Actor.system("test"),
        verb="team.created",
        target=other_team,
        organization=other_team.organization,
    )

    assert [e.verb for e in timeline_for(team)] == ["team.created", "team.updated"]
    assert [e.verb for e in timeline_for(other_team)] == ["team.created"]
