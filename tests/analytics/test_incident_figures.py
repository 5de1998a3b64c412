"""Incident figures equal the values computed by hand from the fixed data set (conftest.py)."""

from datetime import date

import pytest

from opsplatform.analytics.models import IncidentFact
from opsplatform.analytics.selectors import incidents
from opsplatform.analytics.selectors.filters import Filters

pytestmark = pytest.mark.django_db


def filters(org, **kwargs):
    base = {"organization_id": org.pk, "time_zone": "UTC", "start": date(2026, 3, 2), "end": date(2026, 3, 3)}
    return Filters(**{**base, **kwargs})


def test_totals_match_the_hand_computed_values(org, world):
    totals = incidents.totals(filters(org))

    assert totals["incidents"] == 5
    assert totals["open"] == 1
    assert totals["acknowledged"] == 4
    assert totals["mtta_seconds"] == 555.0  # (300 + 1200 + 600 + 120) / 4
    assert totals["resolved"] == 4
    assert totals["mttr_seconds"] == 4050.0  # (3600 + 7200 + 1800 + 3600) / 4
    assert (totals["ack_sla_met"], totals["ack_sla_breached"]) == (2, 1)
    assert totals["ack_sla_compliance"] == 0.6667
    assert (totals["resolve_sla_met"], totals["resolve_sla_breached"]) == (1, 2)
    assert totals["resolve_sla_compliance"] == 0.3333
    assert totals["escalated"] == 1
    assert totals["escalation_rate"] == 0.2


def test_first_acknowledgement_survives_a_retrigger(world):
    i5 = world["incidents"][4]
    fact = IncidentFact.objects.get(incident_id=i5.pk)

    assert fact.first_ack_at.isoformat() == "2026-03-03T15:02:00+00:00"
    i5.refresh_from_db()
    assert i5.acknowledged_at.isoformat() == "2026-03-03T15:30:00+00:00"


def test_by_day(org, world):
    rows = incidents.by_day(filters(org, start=date(2026, 3, 1), end=date(2026, 3, 4)))

    assert [row["key"] for row in rows] == ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04"]
    assert [row["incidents"] for row in rows] == [0, 3, 2, 0]
    assert rows[0]["mtta_seconds"] is None
    assert (rows[1]["mtta_seconds"], rows[1]["mttr_seconds"]) == (750.0, 4200.0)
    assert (rows[2]["mtta_seconds"], rows[2]["mttr_seconds"]) == (360.0, 3600.0)


def test_by_severity(org, world):
    rows = {row["key"]: row for row in incidents.by_severity(filters(org))}

    assert (rows["sev1"]["incidents"], rows["sev1"]["mtta_seconds"], rows["sev1"]["mttr_seconds"]) == (
        2,
        450,
        3600,
    )
    assert (rows["sev2"]["incidents"], rows["sev2"]["mtta_seconds"], rows["sev2"]["mttr_seconds"]) == (
        2,
        660,
        5400,
    )
    assert (rows["sev3"]["incidents"], rows["sev3"]["mtta_seconds"], rows["sev3"]["mttr_seconds"]) == (
        1,
        None,
        1800,
    )
    assert rows["sev4"]["incidents"] == 0


def test_by_service_and_the_service_filter(org, world):
    rows = incidents.by_service(filters(org))

    assert [(row["label"], row["incidents"]) for row in rows] == [("Checkout", 3), ("Search", 2)]
    only_search = incidents.totals(filters(org, service=world["search"]))
    assert (only_search["incidents"], only_search["mtta_seconds"], only_search["mttr_seconds"]) == (
        2,
        600,
        1800,
    )


def test_volume_by_service_and_severity(org, world):
    rows = {row["label"]: row for row in incidents.service_severity(filters(org))}

    assert rows["Checkout"] == {
        "key": str(world["checkout"].pk),
        "label": "Checkout",
        "total": 3,
        "sev1": 1,
        "sev2": 2,
        "sev3": 0,
        "sev4": 0,
    }
    assert (rows["Search"]["sev1"], rows["Search"]["sev3"]) == (1, 1)


def test_bottlenecks_by_stage(org, world):
    stages = {row["stage"]: row for row in incidents.bottlenecks(filters(org))}

    assert stages["triggered_to_acknowledged"] == {
        **stages["triggered_to_acknowledged"],
        "incidents": 4,
        "mean_seconds": 555.0,
    }
    # I1 3300 s, I2 6000 s, I5 3480 s (from its first acknowledgement).
    assert stages["acknowledged_to_resolved"]["incidents"] == 3
    assert stages["acknowledged_to_resolved"]["mean_seconds"] == 4260.0
    assert (
        stages["triggered_to_resolved_unacknowledged"]["incidents"],
        stages["triggered_to_resolved_unacknowledged"]["mean_seconds"],
    ) == (1, 1800.0)


def test_noisiest_sources(org, world):
    from incidents.models import Incident

    Incident.objects.filter(pk=world["incidents"][0].pk).update(source="grafana", alerts_total=7)
    from opsplatform.analytics.services.refresh import refresh_rollups

    refresh_rollups()
    rows = incidents.noisiest_sources(filters(org))

    assert rows[0]["label"] == "grafana"
    assert (rows[0]["alerts"], rows[0]["incidents"]) == (7, 1)


def test_the_other_organization_sees_none_of_it(other_org, world):
    assert incidents.totals(filters(other_org))["incidents"] == 0
