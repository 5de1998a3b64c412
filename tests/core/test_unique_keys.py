"""The tables written most in a storm carry no index nobody reads (``opsplatform.core.unique_keys``,
``audit`` migration 0009): their keys stay unique, without the pattern index Django adds beside a
unique text column, and the ledger keeps one index on the verb and none of the organization alone."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from notifications.models import Notification
from tests.incidents.factories import IncidentFactory
from tests.indexes import table_indexes

KEYED = {
    "notifications_notification": ("idempotency_key", "notification_idempotency_unique"),
    "workflows_automationexecution": ("idempotency_key", "automation_idempotency_unique"),
    "workflows_notice": ("idempotency_key", "notice_idempotency_unique"),
    "audit_ledgerentry": ("entry_hash", "ledger_entry_hash_unique"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("table", sorted(KEYED))
def test_a_key_is_unique_without_a_pattern_index(table):
    column, constraint = KEYED[table]
    indexes = table_indexes(table)
    assert constraint in indexes and "UNIQUE" in indexes[constraint] and f"({column})" in indexes[constraint]
    on_column = [name for name, definition in indexes.items() if f"({column}" in definition]
    assert on_column == [constraint], f"{table}.{column} is indexed by {on_column}"


@pytest.mark.django_db
def test_the_ledger_keeps_one_verb_index_and_none_of_the_organization_alone():
    indexes = table_indexes("audit_ledgerentry")
    assert [name for name, d in indexes.items() if "(verb" in d] == ["ledger_verb_idx"]
    assert "varchar_pattern_ops" in indexes["ledger_verb_idx"]
    assert not [name for name, d in indexes.items() if d.endswith("(organization_id)")]


@pytest.mark.django_db
def test_an_idempotency_key_still_refuses_a_second_row():
    incident = IncidentFactory()
    fields = {
        "organization": incident.organization,
        "incident": incident,
        "idempotency_key": "k-1",
        "medium": "email",
    }
    Notification.objects.create(**fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(**fields)
    assert Notification.objects.filter(idempotency_key="k-1").count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_migrations_go_back_to_the_indexes_they_dropped_and_forward_again():
    executor = MigrationExecutor(connection)
    targets = [
        ("audit", "0008_try_seal"),
        ("notifications", "0003_web_push"),
        ("workflows", "0005_alter_notice_medium"),
    ]
    try:
        executor.migrate(targets)
        ledger = table_indexes("audit_ledgerentry")
        assert {
            "audit_ledgerentry_verb_2c8e24c9",
            "audit_ledgerentry_verb_2c8e24c9_like",
            "audit_ledgerentry_organization_id_00d1851d",
            "audit_ledgerentry_entry_hash_e2af72e5_like",
            "audit_ledgerentry_entry_hash_key",
        } <= set(ledger)
        assert "notifications_notification_idempotency_key_0aab04ad_like" in table_indexes(
            "notifications_notification"
        )
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert {"ledger_verb_idx", "ledger_entry_hash_unique"} <= set(table_indexes("audit_ledgerentry"))
    assert "audit_ledgerentry_entry_hash_e2af72e5_like" not in table_indexes("audit_ledgerentry")
