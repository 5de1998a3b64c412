"""Hash versions: the database links version-2 entries exactly as the verifier recomputes them, and a
chain written before version 2 (version-1 entries) goes on and still verifies."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.hashing import GENESIS_HASH, chain_link, content_digest, digest_of, entry_digest, normalize_data
from audit.models import LedgerEntry
from audit.services import record, record_many
from audit.verification import verify_chain
from opsplatform.core.actors import Actor
from tests.audit.test_verify_ledger import without_trigger


def _legacy_entries(org, count: int) -> str:
    """``count`` version-1 entries, as an earlier release wrote them; the last one's hash."""
    prev = GENESIS_HASH
    start = timezone.now() - timedelta(days=1)
    for sequence in range(1, count + 1):
        fields = {
            "organization_id": org.pk,
            "sequence": sequence,
            "actor_type": "system",
            "actor_id": "legacy",
            "actor_label": "legacy",
            "verb": "legacy.event",
            "target_type": "",
            "target_id": "",
            "data": normalize_data({"n": sequence}),
            "created_at": start + timedelta(seconds=sequence),
            "prev_hash": prev,
        }
        prev = entry_digest(**fields)
        LedgerEntry.objects.create(**fields, entry_hash=prev, hash_version=1)
    return prev


@pytest.mark.django_db
def test_the_databases_link_is_the_verifiers(org):
    data = {
        "text": 'naïve — 日本語 \u2028 "quoted" \\ back',
        "n": [1, 2.5, None, True],
        "nested": {"z": 1, "a": 2},
    }
    entry = record(actor=Actor.system("test"), verb="test.unicode", organization=org, data=data)

    stored = LedgerEntry.objects.get(pk=entry.pk)
    assert stored.hash_version == 2
    assert stored.entry_hash == entry.entry_hash
    content = content_digest(
        organization_id=stored.organization_id,
        actor_type=stored.actor_type,
        actor_id=stored.actor_id,
        actor_label=stored.actor_label,
        verb=stored.verb,
        target_type=stored.target_type,
        target_id=stored.target_id,
        data=stored.data,
        created_at=stored.created_at,
    )
    assert stored.entry_hash == chain_link(GENESIS_HASH, 1, content) == digest_of(stored)


@pytest.mark.django_db
def test_a_chain_written_before_version_2_goes_on_and_verifies(org, team):
    last_legacy = _legacy_entries(org, 3)

    batch = record_many(job="test", entries=[(team, "test.batch", {"n": n}) for n in range(4)])
    entries = [*batch, record(actor=Actor.system("test"), verb="test.single", organization=org)]

    assert [e.sequence for e in entries] == [4, 5, 6, 7, 8]
    assert entries[0].prev_hash == last_legacy
    chain = list(LedgerEntry.objects.filter(organization=org).order_by("sequence"))
    assert [e.hash_version for e in chain] == [1, 1, 1, 2, 2, 2, 2, 2]
    assert [e.entry_hash for e in chain[3:]] == [e.entry_hash for e in entries]
    report = verify_chain(org.pk)
    assert report.intact and report.checked == 8


@pytest.mark.django_db
def test_an_altered_version_2_entry_is_found(org):
    for n in range(3):
        record(actor=Actor.system("test"), verb="test.v2", organization=org, data={"n": n})
    victim = LedgerEntry.objects.get(organization=org, sequence=2)

    without_trigger("UPDATE audit_ledgerentry SET data = %s WHERE id = %s", ['{"n": 99}', victim.pk])

    report = verify_chain(org.pk)
    assert not report.intact
    assert report.broken.sequence == 2
    assert "altered" in report.broken.problem


@pytest.mark.django_db
def test_claiming_an_older_version_does_not_hide_a_change(org):
    # Flipping the version makes the verifier recompute the other way: the hash then fails anyway.
    record(actor=Actor.system("test"), verb="test.v2", organization=org)
    entry = LedgerEntry.objects.get(organization=org)

    without_trigger("UPDATE audit_ledgerentry SET hash_version = 1 WHERE id = %s", [entry.pk])

    assert not verify_chain(org.pk).intact
