"""The rollups follow every change, however it was written, and only the days it touched."""

from datetime import date

import pytest
from django.db import connection

from incidents.models import Incident, Status
from opsplatform.analytics.models import IncidentRollup, RollupChange, RollupState
from opsplatform.analytics.selectors import incidents
from opsplatform.analytics.selectors.filters import Filters
from opsplatform.analytics.services.refresh import LOCK_KEY, refresh_rollups
from tests.analytics.conftest import at

pytestmark = pytest.mark.django_db


def totals(org):
    f = Filters(organization_id=org.pk, time_zone="UTC", start=date(2026, 3, 2), end=date(2026, 3, 3))
    return incidents.totals(f)


def test_a_change_is_logged_and_only_its_day_recomputed(org, world):
    i4 = world["incidents"][3]
    before = set(
        IncidentRollup.objects.filter(organization=org, day=date(2026, 3, 2)).values_list("pk", flat=True)
    )
    assert RollupChange.objects.count() == 0

    Incident.objects.filter(pk=i4.pk).update(status=Status.RESOLVED, resolved_at=at("2026-03-03", "10:00"))
    assert RollupChange.objects.filter(organization_id=org.pk).count() == 1
    result = refresh_rollups()

    assert result.days == 1 and result.changes == 1
    assert RollupChange.objects.count() == 0
    figures = totals(org)
    assert (figures["resolved"], figures["open"]) == (5, 0)
    assert figures["mttr_seconds"] == 3960.0  # (16200 + 3600) / 5
    # 03-02 was not touched: its rows are the same rows.
    after = set(
        IncidentRollup.objects.filter(organization=org, day=date(2026, 3, 2)).values_list("pk", flat=True)
    )
    assert after == before


def test_updates_that_change_no_figure_are_not_logged(org, world):
    Incident.objects.filter(pk=world["incidents"][3].pk).update(alert_occurrences=50, title="Renamed")

    assert RollupChange.objects.count() == 0


def test_a_deleted_incident_leaves_the_figures(org, world):
    world["incidents"][2].delete()
    refresh_rollups()

    assert totals(org)["incidents"] == 4


def test_a_new_time_zone_rebuilds_the_organization(org, world):
    org.time_zone = "Asia/Tokyo"
    org.save(update_fields=["time_zone"])

    result = refresh_rollups()

    assert org.pk in result.rebuilt
    assert RollupState.objects.get(organization=org).time_zone == "Asia/Tokyo"
    # I3 (20:00 UTC on 03-02) is 05:00 on 03-03 in Tokyo.
    days = dict(
        IncidentRollup.objects.filter(organization=org, severity="sev3").values_list("day", "incidents")
    )
    assert days == {date(2026, 3, 3): 1}


def test_a_second_refresh_waits_for_none(org, world):
    from django.db import connections

    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
        assert refresh_rollups().skipped
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
    finally:
        # Closing alone releases the lock only once the server has ended that backend: a race.
        other.close()
    assert not refresh_rollups().skipped
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = %s", [LOCK_KEY])
        assert cursor.fetchone()[0] == 0
