"""The state rules, as pure functions."""

import pytest

from monitoring.statuspages import status as st


@pytest.mark.parametrize(
    ("monitors", "expected"),
    [
        ([], "operational"),
        ([("up", False), ("up", False)], "operational"),
        ([("up", False), ("degraded", False)], "degraded_performance"),
        ([("up", True)], "degraded_performance"),
        ([("up", False), ("down", False)], "partial_outage"),
        ([("down", False), ("down", False)], "major_outage"),
        ([("down", False), ("paused", False), ("pending", False)], "major_outage"),
        ([("paused", False), ("pending", False)], "operational"),
    ],
)
def test_from_monitors(monitors, expected):
    assert st.from_monitors(monitors) == expected


def test_worst_source_wins():
    assert st.component_status(monitors=[("up", False)], incident_severities=["sev2"]) == "partial_outage"
    assert st.component_status(monitors=[("down", False)], incident_severities=["sev4"]) == "major_outage"
    assert (
        st.component_status(monitors=[("up", False)], declared=["degraded_performance"])
        == "degraded_performance"
    )
    assert st.component_status(incident_severities=["sev1", "sev3"]) == "major_outage"


def test_maintenance_hides_automatic_sources_but_not_a_declared_outage():
    assert st.component_status(monitors=[("down", False)], in_maintenance=True) == "under_maintenance"
    assert st.component_status(incident_severities=["sev1"], in_maintenance=True) == "under_maintenance"
    assert (
        st.component_status(monitors=[("down", False)], declared=["major_outage"], in_maintenance=True)
        == "major_outage"
    )


@pytest.mark.parametrize(
    ("statuses", "indicator"),
    [
        ([], "none"),
        (["operational"], "none"),
        (["operational", "under_maintenance"], "maintenance"),
        (["under_maintenance", "degraded_performance"], "minor"),
        (["partial_outage", "degraded_performance"], "major"),
        (["major_outage", "operational"], "critical"),
    ],
)
def test_page_indicator(statuses, indicator):
    assert st.page_status(statuses)[0] == indicator


@pytest.mark.parametrize(
    ("percent", "tone"), [(None, "none"), (100.0, "ok"), (99.9, "ok"), (99.0, "warn"), (94.9, "bad")]
)
def test_uptime_tone(percent, tone):
    assert st.uptime_tone(percent) == tone
