"""``manage.py verify_ledger`` finds the first broken link of each chain, or reports them intact."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from audit.hashing import digest_of
from audit.management.commands.verify_ledger import EXIT_BROKEN, EXIT_USAGE, Command
from audit.models import LedgerEntry
from audit.services import record
from opsplatform.core.actors import Actor


@pytest.fixture
def ledger(org, other_org):
    system = Actor.system("test")
    for n in range(5):
        record(actor=system, verb="test.entry", organization=org, data={"n": n})
    for n in range(2):
        record(actor=system, verb="test.entry", organization=other_org, data={"n": n})
    record(actor=system, verb="test.platform")


def entry_at(organization, sequence: int) -> LedgerEntry:
    return LedgerEntry.objects.get(organization=organization, sequence=sequence)


def without_trigger(sql: str, params) -> None:
    """Tamper as someone with table-owner rights could: switch the guard off, change, switch on."""
    with connection.cursor() as cursor:
        # The test's inserts still have deferred foreign-key checks queued; ALTER TABLE waits for none.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE audit_ledgerentry DISABLE TRIGGER audit_ledger_append_only")
        try:
            cursor.execute(sql, params)
        finally:
            cursor.execute("ALTER TABLE audit_ledgerentry ENABLE TRIGGER audit_ledger_append_only")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def verify(*args) -> str:
    out = StringIO()
    call_command("verify_ledger", *args, stdout=out, chunk_size=2)  # small chunks: cross chunk borders
    return out.getvalue()


@pytest.mark.django_db
def test_intact_ledger_exits_zero_with_a_summary_per_chain(ledger, org, other_org):
    output = verify()

    assert f"organization acme (id {org.pk}): 5 entries checked, intact" in output
    assert f"organization globex (id {other_org.pk}): 2 entries checked, intact" in output
    assert "platform chain: 1 entries checked, intact" in output
    assert "All 3 chain(s) intact." in output


@pytest.mark.django_db
def test_real_exit_status_is_zero_when_intact(ledger, capsys):
    Command().run_from_argv(["manage.py", "verify_ledger"])  # returns instead of sys.exit(0)

    assert "intact" in capsys.readouterr().out


@pytest.mark.django_db
def test_altered_data_names_that_entry(ledger, org, capsys):
    victim = entry_at(org, 3)
    without_trigger("UPDATE audit_ledgerentry SET data = '{\"n\": 99}' WHERE id = %s", [victim.pk])

    with pytest.raises(SystemExit) as exited:
        Command().run_from_argv(["manage.py", "verify_ledger"])

    assert exited.value.code == EXIT_BROKEN
    captured = capsys.readouterr()
    assert f"organization acme (id {org.pk}): BROKEN at sequence 3 (entry id {victim.pk})" in captured.out
    assert "entry_hash does not match" in captured.out
    assert "2 entries before it are intact" in captured.out
    assert f"sequence 3 (entry id {victim.pk})" in captured.err
    # The other chains are still checked and reported.
    assert "organization globex" in captured.out
    assert "intact" in captured.out.split("globex", 1)[1]


@pytest.mark.django_db
def test_rehashed_forgery_breaks_the_next_link(ledger, org):
    # A forger who alters an entry and recomputes its own hash leaves it self-consistent, but the
    # successor still points at the original hash.
    forged = entry_at(org, 2)
    forged.data = {"n": 99}
    without_trigger(
        "UPDATE audit_ledgerentry SET data = %s, entry_hash = %s WHERE id = %s",
        ['{"n": 99}', digest_of(forged), forged.pk],
    )
    successor = entry_at(org, 3)

    with pytest.raises(CommandError) as failed:
        verify()

    assert failed.value.returncode == EXIT_BROKEN
    message = str(failed.value)
    assert f"sequence 3 (entry id {successor.pk})" in message
    assert "prev_hash does not match the entry_hash of sequence 2" in message


@pytest.mark.django_db
def test_deleted_middle_entry_is_a_sequence_gap(ledger, org):
    without_trigger("DELETE FROM audit_ledgerentry WHERE id = %s", [entry_at(org, 3).pk])
    after_gap = entry_at(org, 4)

    with pytest.raises(CommandError) as failed:
        verify()

    message = str(failed.value)
    assert failed.value.returncode == EXIT_BROKEN
    assert f"acme (id {org.pk}), sequence 4 (entry id {after_gap.pk})" in message
    assert "sequence gap: expected 3, found 4" in message


@pytest.mark.django_db
def test_deleted_first_entry_is_caught(ledger, org):
    without_trigger("DELETE FROM audit_ledgerentry WHERE id = %s", [entry_at(org, 1).pk])

    with pytest.raises(CommandError) as failed:
        verify()

    assert "starts at sequence 2, not 1" in str(failed.value)


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["globex", "id"])
def test_organization_option_checks_only_that_chain(ledger, org, other_org, name):
    without_trigger("UPDATE audit_ledgerentry SET verb = 'forged' WHERE id = %s", [entry_at(org, 1).pk])
    selector = "globex" if name == "globex" else str(other_org.pk)

    output = verify("--organization", selector)

    assert f"organization globex (id {other_org.pk}): 2 entries checked, intact" in output
    assert "acme" not in output
    assert "platform chain" not in output
    assert "All 1 chain(s) intact." in output


@pytest.mark.django_db
def test_organization_option_finds_the_broken_chain(ledger, org):
    without_trigger("UPDATE audit_ledgerentry SET verb = 'forged' WHERE id = %s", [entry_at(org, 5).pk])

    with pytest.raises(CommandError) as failed:
        verify("--organization", "acme")

    assert "sequence 5" in str(failed.value)


@pytest.mark.django_db
def test_unknown_organization_is_a_usage_error(ledger, capsys):
    with pytest.raises(CommandError) as failed:
        verify("--organization", "no-such-org")

    assert failed.value.returncode == EXIT_USAGE
    assert "Unknown organization 'no-such-org'" in str(failed.value)

    with pytest.raises(SystemExit) as exited:
        Command().run_from_argv(["manage.py", "verify_ledger", "--organization", "424242"])
    assert exited.value.code == EXIT_USAGE
    assert "Unknown organization '424242'" in capsys.readouterr().err


@pytest.mark.django_db
def test_empty_ledger_is_intact(org):
    output = verify()

    assert f"organization acme (id {org.pk}): 0 entries checked, intact" in output
    assert "platform chain: 0 entries checked, intact" in output
