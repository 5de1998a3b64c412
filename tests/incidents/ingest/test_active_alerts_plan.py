"""A batch's read of its keys' active alerts costs an index lookup a key, however many incidents the
organization has: the planner never gets to scan every incident to find the few the alerts belong to.
The group commit's read of which keys fire at all (``FIRING_KEYS_SQL``) looks its keys up the same way."""

import pytest
from django.db import connection

from incidents.ingest import sql
from incidents.models import Alert, Incident
from tests.accounts.factories import OrganizationFactory
from tests.incidents.factories import IncidentFactory

pytestmark = pytest.mark.django_db

INCIDENTS = 3000
KEYS = 50


def _scans(plan: dict) -> set[tuple[str, str]]:
    found = {(plan["Node Type"], plan.get("Relation Name", ""))}
    for child in plan.get("Plans", []):
        found |= _scans(child)
    return found


def _plan(organization_id: int, keys: list[str], mode: str) -> set[tuple[str, str]]:
    text = sql.ACTIVE_ALERTS.replace("%s", "$1", 1).replace("%s", "$2", 1)
    with connection.cursor() as cursor:
        cursor.execute(f"PREPARE active_alerts(bigint, text[]) AS {text}")
        try:
            cursor.execute(f"SET LOCAL plan_cache_mode = {mode}")
            cursor.execute("EXPLAIN (FORMAT JSON) EXECUTE active_alerts(%s, %s)", [organization_id, keys])
            return _scans(cursor.fetchone()[0][0]["Plan"])  # the JSON arrives parsed
        finally:
            cursor.execute("DEALLOCATE active_alerts")


@pytest.fixture
def thousands_of_incidents():
    """An organization with 3,000 incidents, each holding one active alert, and its statistics."""
    org = OrganizationFactory()
    incidents = Incident.objects.bulk_create(
        IncidentFactory.build(organization=org, dedup_key=f"key-{n:05d}") for n in range(INCIDENTS)
    )
    Alert.objects.bulk_create(
        Alert(organization=org, incident=incident, dedup_key=incident.dedup_key, active=True)
        for incident in incidents
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE incidents_incident")
        cursor.execute("ANALYZE incidents_alert")
    return org


@pytest.mark.parametrize("mode", ["force_custom_plan", "force_generic_plan"])
def test_a_batch_of_known_keys_finds_their_incidents_by_primary_key(thousands_of_incidents, mode):
    keys = [f"key-{n:05d}" for n in range(0, INCIDENTS, INCIDENTS // KEYS)]

    scans = _plan(thousands_of_incidents.pk, keys, mode)

    assert ("Seq Scan", "incidents_incident") not in scans
    assert ("Index Scan", "incidents_incident") in scans or ("Index Only Scan", "incidents_incident") in scans


def test_the_read_answers_the_latest_active_alert_of_each_key_and_whether_its_incident_is_open(
    thousands_of_incidents,
):
    org = thousands_of_incidents
    closed = Incident.objects.get(dedup_key="key-00001")
    Incident.objects.filter(pk=closed.pk).update(status="resolved")
    with connection.cursor() as cursor:
        cursor.execute(sql.ACTIVE_ALERTS, [org.pk, ["key-00000", "key-00001", "key-99999"]])
        rows = {row[0]: row for row in cursor.fetchall()}

    assert sorted(rows) == ["key-00000", "key-00001"]
    assert rows["key-00000"][5] is True
    assert rows["key-00001"][5] is False and rows["key-00001"][2] == closed.pk


def _indexes(plan: dict) -> set[str]:
    found = {plan["Index Name"]} if "Index Name" in plan else set()
    for child in plan.get("Plans", []):
        found |= _indexes(child)
    return found


@pytest.mark.parametrize("mode", ["force_custom_plan", "force_generic_plan"])
def test_the_group_commits_read_of_firing_keys_can_use_the_active_alerts_index(thousands_of_incidents, mode):
    # At this size a scan of the whole table is a fair plan too; what must hold is that the read's
    # condition matches the partial index's, so that the planner can look keys up as the table grows.
    keys = [f"key-{n:05d}" for n in range(0, INCIDENTS, INCIDENTS // KEYS)]
    text = sql.FIRING_KEYS_SQL.replace("%(org)s", "$1").replace("%(keys)b", "$2")
    with connection.cursor() as cursor:
        cursor.execute(f"PREPARE firing_keys(bigint, text[]) AS {text}")
        try:
            cursor.execute(f"SET LOCAL plan_cache_mode = {mode}")
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(
                "EXPLAIN (FORMAT JSON) EXECUTE firing_keys(%s, %s)", [thousands_of_incidents.pk, keys]
            )
            indexes = _indexes(cursor.fetchone()[0][0]["Plan"])
        finally:
            cursor.execute("DEALLOCATE firing_keys")

    assert indexes == {"alert_active_dedup_idx"}


def test_the_firing_keys_are_the_active_firing_alerts_of_the_organization(thousands_of_incidents):
    org = thousands_of_incidents
    Alert.objects.filter(organization=org, dedup_key="key-00001").update(status="resolved")
    Alert.objects.filter(organization=org, dedup_key="key-00002").update(active=False)
    other = OrganizationFactory()
    elsewhere = IncidentFactory(organization=other, dedup_key="key-elsewhere")
    Alert.objects.create(organization=other, incident=elsewhere, dedup_key="key-elsewhere", active=True)
    keys = ["key-00000", "key-00001", "key-00002", "key-elsewhere", "key-99999"]
    with connection.cursor() as cursor:
        cursor.execute(sql.FIRING_KEYS_SQL.replace("%(keys)b", "%(keys)s"), {"org": org.pk, "keys": keys})
        firing = {row[0] for row in cursor.fetchall()}

    assert firing == {"key-00000"}
