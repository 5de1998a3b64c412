"""Incidents and alerts carry no index another of theirs makes redundant (``incidents`` migration
0005): none on the organization alone, and the alerts none on the incident alone. What those
indexes served, the composite ones serve: lookups by incident, and the deletes that cascade."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from incidents.models import Alert
from tests.incidents.factories import IncidentFactory
from tests.indexes import table_indexes

DROPPED = {
    "incidents_incident": "incidents_incident_organization_id_63de570a",
    "incidents_alert": "incidents_alert_organization_id_2dde61a0",
}
DROPPED_INCIDENT_KEY = "incidents_alert_incident_id_de5c827a"


@pytest.mark.django_db
@pytest.mark.parametrize("table", sorted(DROPPED))
def test_no_index_on_the_organization_alone_and_every_other_starts_with_it(table):
    indexes = table_indexes(table)
    assert not [name for name, d in indexes.items() if d.endswith("(organization_id)")]
    leading = [name for name, d in indexes.items() if "(organization_id," in d]
    assert len(leading) >= 2, indexes


@pytest.mark.django_db
def test_alerts_are_found_by_incident_through_the_incident_and_key_index():
    indexes = table_indexes("incidents_alert")
    assert not [name for name, d in indexes.items() if d.endswith("(incident_id)")]
    assert "(incident_id, dedup_key)" in indexes["alert_incident_dedup_idx"]


@pytest.mark.django_db
def test_deleting_an_incident_still_lets_go_of_its_alerts():
    incident = IncidentFactory()
    alert = Alert.objects.create(organization=incident.organization, incident=incident, dedup_key="k")
    incident.delete()
    alert.refresh_from_db()
    assert alert.incident_id is None


@pytest.mark.django_db(transaction=True)
def test_the_migration_goes_back_to_the_indexes_it_dropped_and_forward_again():
    executor = MigrationExecutor(connection)
    try:
        executor.migrate([("incidents", "0004_ingestion")])
        for table, name in DROPPED.items():
            assert name in table_indexes(table)
        assert DROPPED_INCIDENT_KEY in table_indexes("incidents_alert")
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    for table, name in DROPPED.items():
        assert name not in table_indexes(table)
    assert DROPPED_INCIDENT_KEY not in table_indexes("incidents_alert")
