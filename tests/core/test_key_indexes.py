"""The tables a storm writes most carry no index on a foreign key alone where another index starts
with that key (``opsplatform.core.key_indexes``; migrations ``incidents`` 0005, ``notifications``
0005, ``workflows`` 0007). What those indexes served, the composite ones serve: lookups by the key,
and the deletes that cascade or set it null."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from incidents.models import Alert
from tests.incidents.factories import IncidentFactory
from tests.indexes import table_indexes

# table: {the key column whose index of its own was dropped: the index that starts with it now}
COVERED = {
    "incidents_incident": {"organization_id": "incident_org_recent_idx"},
    "incidents_alert": {"organization_id": "alert_org_dedup_idx", "incident_id": "alert_incident_dedup_idx"},
    "notifications_notification": {"organization_id": "notification_recent_idx"},
    "workflows_automationexecution": {
        "rule_id": "automation_rule_recent_idx",
        "incident_id": "automation_incident_idx",
    },
}
DROPPED = {
    "incidents_incident": ["incidents_incident_organization_id_63de570a"],
    "incidents_alert": ["incidents_alert_organization_id_2dde61a0", "incidents_alert_incident_id_de5c827a"],
    "notifications_notification": ["notifications_notification_organization_id_696639cb"],
    "workflows_automationexecution": [
        "workflows_automationexecution_rule_id_ea16b17b",
        "workflows_automationexecution_incident_id_16d2be12",
    ],
}


@pytest.mark.django_db
@pytest.mark.parametrize("table", sorted(COVERED))
def test_no_index_on_a_covered_key_alone_and_the_one_that_covers_it_starts_with_it(table):
    indexes = table_indexes(table)
    for column, covering in COVERED[table].items():
        assert not [name for name, d in indexes.items() if d.endswith(f"({column})")], (table, column)
        assert f"({column}," in indexes[covering], (table, covering)


@pytest.mark.django_db
def test_deleting_an_incident_still_lets_go_of_its_alerts():
    incident = IncidentFactory()
    alert = Alert.objects.create(organization=incident.organization, incident=incident, dedup_key="k")
    incident.delete()
    alert.refresh_from_db()
    assert alert.incident_id is None


@pytest.mark.django_db(transaction=True)
def test_the_migrations_go_back_to_the_indexes_they_dropped_and_forward_again():
    executor = MigrationExecutor(connection)
    targets = [
        ("incidents", "0004_ingestion"),
        ("notifications", "0004_idempotency_key_without_pattern_index"),
        ("workflows", "0006_idempotency_keys_without_pattern_index"),
    ]
    try:
        executor.migrate(targets)
        for table, names in DROPPED.items():
            assert set(names) <= set(table_indexes(table)), table
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    for table, names in DROPPED.items():
        assert not set(names) & set(table_indexes(table)), table
