"""The ledger archive: spans leave the database under signed checkpoints, the live chain continues
from the last one, and verify_ledger --archive finds tampering, a missing span and a bad signature."""

import base64
import gzip
import json
from datetime import timedelta

import mongomock
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from audit.archive import signing
from audit.archive.restore import archived_records
from audit.hashing import canonical_json
from audit.models import LedgerCheckpoint, LedgerEntry
from audit.services import record
from audit.verification import verify_chain
from opsplatform.core import mongo
from opsplatform.core.actors import Actor
from tests.ledger import entries
from tests.retention import keep_days, purge

pytestmark = pytest.mark.django_db

LATER = timezone.now() + timedelta(days=400)  # "now" for the archive: every entry is past 365 days


@pytest.fixture(autouse=True)
def archive_settings(settings, tmp_path):
    settings.LEDGER_ARCHIVE_DIR = tmp_path / "archive"
    settings.LEDGER_SIGNING_KEY = signing.generate_key_text()
    settings.LEDGER_ARCHIVE_SPAN = 4
    settings.MONGO_URL = ""
    keep_days(settings, "ledger_hot", 365)


def write(org, count: int) -> list[LedgerEntry]:
    actor = Actor.system("test", organization=org)
    return [record(actor=actor, verb="test.event", organization=org, data={"n": n}) for n in range(count)]


def verify(*args):
    call_command("verify_ledger", "--archive", *args)


def test_archiving_moves_old_spans_under_signed_checkpoints_and_the_chain_goes_on(org, other_org, settings):
    written = write(org, 10)
    write(other_org, 2)
    originals = {entry.sequence: entry for entry in written}

    removed = purge("ledger_hot", now=LATER, organization_id=org.pk)

    # Entries 1..9 leave (the newest always stays), in spans of at most 4: 1-4, 5-8, 9-9.
    assert removed == 9
    assert list(LedgerEntry.objects.filter(organization=org).values_list("sequence", flat=True)) == [10, 11]
    checkpoints = list(LedgerCheckpoint.objects.filter(organization=org).order_by("last_sequence"))
    assert [(c.first_sequence, c.last_sequence, c.count) for c in checkpoints] == [
        (1, 4, 4),
        (5, 8, 4),
        (9, 9, 1),
    ]
    assert checkpoints[-1].last_hash == originals[9].entry_hash
    # The signature verifies with nothing but the published public key.
    public = Ed25519PublicKey.from_public_bytes(
        base64.urlsafe_b64decode(signing.public_key_b64() + "=" * (-len(signing.public_key_b64()) % 4))
    )
    for checkpoint in checkpoints:
        public.verify(
            base64.b64decode(checkpoint.signature), canonical_json(checkpoint.signed_payload()).encode()
        )
    # The run's own entry (sequence 11) says what left.
    (entry,) = entries("retention.purged", organization=org)
    assert entry.sequence == 11
    assert entry.data["kind"] == "ledger_hot" and entry.data["removed"] == 9
    assert [span["last"] for span in entry.data["detail"]["checkpoints"]] == [4, 8, 9]
    # Other organizations are untouched.
    assert LedgerEntry.objects.filter(organization=other_org).count() == 2

    following = record(actor=Actor.system("test", organization=org), verb="test.after", organization=org)
    assert following.sequence == 12
    assert verify_chain(org.pk).intact
    verify()
    assert [r["entry_hash"] for r in archived_records(org.pk)] == [
        originals[n].entry_hash for n in range(1, 10)
    ]


def test_a_dry_run_archives_nothing(org, capsys):
    write(org, 5)

    assert purge("ledger_hot", now=LATER, organization_id=org.pk, dry_run=True) == 4
    call_command("ledger_archive", "--dry-run", "--organization", org.slug)

    assert "would remove 0" in capsys.readouterr().out  # nothing is a year old yet
    assert LedgerEntry.objects.filter(organization=org).count() == 5
    assert not LedgerCheckpoint.objects.exists()


def _archive(org, count=10):
    written = write(org, count)
    purge("ledger_hot", now=LATER, organization_id=org.pk)
    return written


def _broken(capsys) -> str:
    with pytest.raises(CommandError) as failed:
        verify()
    assert failed.value.returncode == 1
    return str(failed.value) + capsys.readouterr().out


def test_a_tampered_archived_line_is_found_and_named(org, settings, capsys):
    written = _archive(org)
    checkpoint = LedgerCheckpoint.objects.get(organization=org, first_sequence=5)
    path = settings.LEDGER_ARCHIVE_DIR / checkpoint.location
    lines = gzip.decompress(path.read_bytes()).decode().splitlines()
    forged = json.loads(lines[1])
    forged["data"] = {"n": 999}
    lines[1] = json.dumps(forged)
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))

    message = _broken(capsys)

    assert f"sequence 6 (entry id {written[5].pk}) in archive file:{checkpoint.location}" in message
    assert "the entry was altered" in message


def test_a_missing_span_is_found(org, settings, capsys):
    _archive(org)
    checkpoint = LedgerCheckpoint.objects.get(organization=org, first_sequence=1)
    (settings.LEDGER_ARCHIVE_DIR / checkpoint.location).unlink()

    message = _broken(capsys)

    assert "sequence 1" in message and "is missing" in message


def test_a_checkpoint_altered_in_the_database_fails_its_signature(org, capsys):
    _archive(org)
    checkpoint = LedgerCheckpoint.objects.get(organization=org, first_sequence=5)
    with connection.cursor() as cursor:
        # Someone with the table owner's rights: the trigger goes first, then the checkpoint's count.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE audit_ledgercheckpoint DISABLE TRIGGER audit_checkpoint_append_only")
        cursor.execute("UPDATE audit_ledgercheckpoint SET count = 3 WHERE id = %s", [checkpoint.pk])
        cursor.execute("ALTER TABLE audit_ledgercheckpoint ENABLE TRIGGER audit_checkpoint_append_only")

    message = _broken(capsys)

    assert f"checkpoint {checkpoint.pk}: the signature does not match the checkpoint" in message


def test_checkpoints_of_an_unknown_key_do_not_verify(org, settings, capsys):
    _archive(org)
    settings.LEDGER_SIGNING_KEY = signing.generate_key_text()  # the deployment's key changed, untrusted

    message = _broken(capsys)

    assert "signed with an unknown key" in message
    # Trusting the earlier public key again makes the archive verify.
    old = LedgerCheckpoint.objects.filter(organization=org).first()
    assert old.key_id != signing.current_key_id()


def test_the_database_refuses_deletes_outside_the_archive_path(org):
    write(org, 3)
    victim = LedgerEntry.objects.get(organization=org, sequence=1)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        # The flag alone is not enough: no checkpoint covers the row.
        cursor.execute("SELECT set_config('audit.archive_delete', 'on', true)")
        cursor.execute("DELETE FROM audit_ledgerentry WHERE id = %s", [victim.pk])
    with connection.cursor() as cursor:
        cursor.execute("SELECT audit_ledger_delete_archived(%s, %s, %s)", [org.pk, 3, 100])
        assert cursor.fetchone() == (0,)  # only rows a checkpoint covers, and none does
    assert LedgerEntry.objects.filter(organization=org).count() == 3


def test_a_restored_span_equals_the_original(org):
    written = _archive(org)

    call_command("ledger_restore", "--organization", org.slug, "--table", "probe", "--from", "3", "--to", "7")

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, sequence, verb, data, created_at, prev_hash, entry_hash"
            " FROM ledger_restore_probe ORDER BY sequence"
        )
        rows = [(*row[:3], json.loads(row[3]), *row[4:]) for row in cursor.fetchall()]
    expected = [
        (e.pk, e.sequence, e.verb, e.data, e.created_at, e.prev_hash, e.entry_hash) for e in written[2:7]
    ]
    assert rows == expected


def test_the_platform_chain_is_archived_too(settings):
    actor = Actor.system("test")
    for n in range(6):
        record(actor=actor, verb="test.platform", organization=None, data={"n": n})

    purge("ledger_hot", now=LATER)

    assert LedgerCheckpoint.objects.filter(organization__isnull=True).exists()
    verify()


def test_archived_spans_expire_and_verification_starts_after_them(org, settings):
    _archive(org)
    keep_days(settings, "archived_ledger_spans", 365)
    later_still = LATER + timedelta(days=400)

    removed = purge("archived_ledger_spans", now=later_still, organization_id=org.pk)

    assert removed == 9
    assert not list(settings.LEDGER_ARCHIVE_DIR.rglob("*.jsonl.gz"))
    assert LedgerCheckpoint.objects.filter(organization=org, removal__isnull=False).count() == 3
    verify()


@pytest.fixture
def mongo_archive(settings):
    settings.MONGO_URL = "mongodb://stand-in"
    mongo.use_client(mongomock.MongoClient())
    yield mongo.database()
    mongo.use_client(None)


def test_the_mongodb_backend_archives_verifies_and_finds_tampering(org, mongo_archive, capsys):
    written = _archive(org)

    checkpoint = LedgerCheckpoint.objects.get(organization=org, first_sequence=5)
    assert checkpoint.backend == "mongo"
    collection = mongo_archive[checkpoint.location]
    assert collection.count_documents({}) == 9
    assert any(index["unique"] for index in collection.index_information().values() if index.get("unique"))
    verify()
    assert [r["entry_hash"] for r in archived_records(org.pk)] == [e.entry_hash for e in written[:9]]

    collection.update_one({"sequence": 7}, {"$set": {"verb": "test.forged"}})

    message = _broken(capsys)
    assert f"sequence 7 (entry id {written[6].pk}) in archive mongo:{checkpoint.location}" in message
