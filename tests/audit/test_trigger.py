"""The database itself refuses to change or remove a ledger entry, whoever asks."""

import pytest
from django.db import DatabaseError, connection, transaction

from audit.models import LedgerEntry
from audit.services import record
from opsplatform.core.actors import Actor


@pytest.fixture
def entry(org):
    return record(actor=Actor.system("test"), verb="test.fixed", organization=org, data={"v": 1})


def refused(sql: str, params) -> str:
    with pytest.raises(DatabaseError) as caught, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
    return str(caught.value)


@pytest.mark.django_db
def test_raw_update_is_refused(entry):
    message = refused("UPDATE audit_ledgerentry SET verb = 'test.forged' WHERE id = %s", [entry.pk])

    assert "append-only" in message
    entry.refresh_from_db()
    assert entry.verb == "test.fixed"


@pytest.mark.django_db
def test_raw_delete_is_refused(entry):
    message = refused("DELETE FROM audit_ledgerentry WHERE id = %s", [entry.pk])

    assert "append-only" in message
    assert LedgerEntry.objects.filter(pk=entry.pk).exists()


@pytest.mark.django_db
def test_orm_save_of_an_existing_entry_is_refused(entry):
    entry.data = {"v": 2}
    with pytest.raises(DatabaseError), transaction.atomic():
        entry.save()

    entry.refresh_from_db()
    assert entry.data == {"v": 1}


@pytest.mark.django_db
def test_orm_bulk_update_and_delete_are_refused(entry):
    with pytest.raises(DatabaseError), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).update(verb="test.forged")
    with pytest.raises(DatabaseError), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).delete()

    entry.refresh_from_db()
    assert entry.verb == "test.fixed"


@pytest.mark.django_db
def test_appending_still_works(entry, org):
    second = record(actor=Actor.system("test"), verb="test.next", organization=org)

    assert second.sequence == entry.sequence + 1
