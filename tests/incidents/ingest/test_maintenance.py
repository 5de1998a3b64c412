"""Maintenance windows: one-off and weekly in a time zone (across daylight-saving changes); alerts
inside a window are recorded but open no incident and page nobody; resolves still get through."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from incidents.ingest.maintenance import is_active, next_occurrence
from incidents.ingest.services import maintenance_window_create
from incidents.models import Alert, Incident, MaintenanceWindow, Recurrence, Status
from tests.incidents.ingest.payloads import (
    alertmanager,
    am_alert,
    am_url,
    pd_action,
    pd_trigger,
    post,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def window(actor_as, service):
    now = timezone.now()
    return maintenance_window_create(
        actor=actor_as("manager"),
        name="DB upgrade",
        service=service,
        recurrence=Recurrence.ONCE,
        starts_at=now - timedelta(minutes=5),
        ends_at=now + timedelta(hours=1),
    )


def test_alerts_in_a_window_are_recorded_and_page_nobody(make_integration, client, window):
    _, key = make_integration("pagerduty")

    response = post(client, "/v2/enqueue", pd_trigger(key))

    assert response.status_code == 202
    assert not Incident.objects.exists()
    alert = Alert.objects.get()
    assert alert.suppressed and alert.suppressed_window == window
    assert alert.suppressed_reason == "maintenance: DB upgrade"


def test_an_incident_open_before_the_window_still_counts_and_resolves(
    make_integration, client, actor_as, service
):
    _, key = make_integration("pagerduty")
    post(client, "/v2/enqueue", pd_trigger(key))
    now = timezone.now()
    maintenance_window_create(
        actor=actor_as("manager"),
        name="late window",
        service=service,
        recurrence=Recurrence.ONCE,
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(hours=1),
    )

    post(client, "/v2/enqueue", pd_trigger(key))
    post(client, "/v2/enqueue", pd_action(key, "resolve"))

    incident = Incident.objects.get()
    assert incident.alert_occurrences == 2 and incident.status == Status.RESOLVED


def test_after_the_window_alerts_open_incidents_again(make_integration, client, window):
    _, key = make_integration("pagerduty")
    post(client, "/v2/enqueue", pd_trigger(key))
    MaintenanceWindow.objects.filter(pk=window.pk).update(ends_at=timezone.now() - timedelta(seconds=1))

    post(client, "/v2/enqueue", pd_trigger(key))

    assert Incident.objects.filter(status=Status.TRIGGERED).count() == 1


def test_other_services_are_not_covered(make_integration, client, window, other_org):
    from tests.incidents.factories import ServiceFactory

    elsewhere = ServiceFactory(organization=window.organization, name="Search", slug="search")
    _, key = make_integration("pagerduty", service=elsewhere)

    post(client, "/v2/enqueue", pd_trigger(key))

    assert Incident.objects.count() == 1


def test_label_matcher_windows(make_integration, client, actor_as):
    _, key = make_integration("alertmanager", grouping=False)
    now = timezone.now()
    maintenance_window_create(
        actor=actor_as("manager"),
        name="eu-west maintenance",
        matchers=[{"field": "labels.region", "op": "equals", "value": "eu-west"}],
        recurrence=Recurrence.ONCE,
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(hours=1),
    )

    post(
        client,
        am_url(key),
        alertmanager(
            am_alert("aaaa000000000001", region="eu-west"), am_alert("aaaa000000000002", region="us-east")
        ),
    )

    assert list(Incident.objects.values_list("dedup_key", flat=True)) == ["aaaa000000000002"]
    assert Alert.objects.get(dedup_key="aaaa000000000001").suppressed


def test_a_window_must_be_scoped(actor_as):
    now = timezone.now()
    with pytest.raises(ValidationError) as exc:
        maintenance_window_create(
            actor=actor_as("manager"), name="all", starts_at=now, ends_at=now + timedelta(hours=1)
        )
    assert "service" in exc.value.message_dict


def test_viewers_cannot_create_windows(actor_as, service):
    from django.core.exceptions import PermissionDenied

    now = timezone.now()
    with pytest.raises(PermissionDenied):
        maintenance_window_create(
            actor=actor_as("operator"),
            name="x",
            service=service,
            starts_at=now,
            ends_at=now + timedelta(hours=1),
        )


# --- weekly windows across daylight-saving changes ----------------------------------------------


def weekly(org, service, **values):
    return MaintenanceWindow(
        organization=org, name="weekly", service=service, recurrence=Recurrence.WEEKLY, **values
    )


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def test_weekly_window_keeps_local_time_when_the_clocks_go_forward(org, service):
    """Berlin, Sunday 2026-03-29: 02:00 CET becomes 03:00 CEST. "Sundays 01:00-04:00" is
    00:00-02:00 UTC that night (three wall-clock hours, two real ones), 00:00-03:00 UTC a week before."""
    window = weekly(
        org, service, weekdays=[6], start_time=time(1, 0), duration_minutes=180, time_zone="Europe/Berlin"
    )

    # The week before: CET all night.
    assert is_active(window, utc(2026, 3, 22, 0, 0))
    assert is_active(window, utc(2026, 3, 22, 2, 59))
    assert not is_active(window, utc(2026, 3, 22, 3, 0))
    # The night of the change.
    assert not is_active(window, utc(2026, 3, 28, 23, 59))
    assert is_active(window, utc(2026, 3, 29, 0, 0))
    assert is_active(window, utc(2026, 3, 29, 1, 59))
    assert not is_active(window, utc(2026, 3, 29, 2, 0))  # 04:00 CEST
    # The week after: CEST, 23:00-02:00 UTC.
    assert is_active(window, utc(2026, 4, 4, 23, 0))
    assert not is_active(window, utc(2026, 4, 4, 22, 59))


def test_weekly_window_keeps_local_time_when_the_clocks_go_back(org, service):
    """Berlin, Sunday 2026-10-25: 03:00 CEST becomes 02:00 CET. "Sundays 01:00-04:00" runs
    23:00 UTC (Saturday) to 03:00 UTC: four real hours."""
    window = weekly(
        org, service, weekdays=[6], start_time=time(1, 0), duration_minutes=180, time_zone="Europe/Berlin"
    )

    assert not is_active(window, utc(2026, 10, 24, 22, 59))
    assert is_active(window, utc(2026, 10, 24, 23, 0))
    assert is_active(window, utc(2026, 10, 25, 2, 59))
    assert not is_active(window, utc(2026, 10, 25, 3, 0))


def test_a_start_inside_the_skipped_hour_starts_at_the_jump(org, service):
    """02:30-03:30 on 2026-03-29 in Berlin: 02:30 does not exist (02:00 CET jumps to 03:00 CEST), so
    the window is the part of it that does: 03:00-03:30 CEST, 01:00-01:30 UTC."""
    window = weekly(
        org, service, weekdays=[6], start_time=time(2, 30), duration_minutes=60, time_zone="Europe/Berlin"
    )

    assert not is_active(window, utc(2026, 3, 29, 0, 59))
    assert is_active(window, utc(2026, 3, 29, 1, 0))
    assert is_active(window, utc(2026, 3, 29, 1, 29))
    assert not is_active(window, utc(2026, 3, 29, 1, 30))
    assert next_occurrence(window, utc(2026, 3, 28, 12, 0)) == (
        utc(2026, 3, 29, 1, 0),
        utc(2026, 3, 29, 1, 30),
    )
    # A normal week: 02:30-03:30 CEST.
    assert next_occurrence(window, utc(2026, 4, 4, 12, 0)) == (utc(2026, 4, 5, 0, 30), utc(2026, 4, 5, 1, 30))


def test_a_repeated_hour_is_covered_whole(org, service):
    """On 2026-10-25 Berlin lives 02:00-03:00 twice; a 02:00-02:30 window covers both halves' span."""
    window = weekly(
        org, service, weekdays=[6], start_time=time(2, 0), duration_minutes=30, time_zone="Europe/Berlin"
    )

    assert is_active(window, utc(2026, 10, 25, 0, 0))  # 02:00 CEST
    assert is_active(window, utc(2026, 10, 25, 1, 29))  # 02:29 CET
    assert not is_active(window, utc(2026, 10, 25, 1, 30))


def test_weekly_windows_crossing_midnight_and_validity_bounds(org, service):
    window = weekly(
        org,
        service,
        weekdays=[4],  # Friday 22:00 + 4 h
        start_time=time(22, 0),
        duration_minutes=240,
        time_zone="America/New_York",
        ends_at=utc(2026, 6, 1),
    )
    assert is_active(window, utc(2026, 5, 23, 3, 0))  # Friday 23:00 EDT
    assert is_active(window, utc(2026, 5, 23, 5, 30))  # Saturday 01:30 EDT
    assert not is_active(window, utc(2026, 5, 23, 6, 0))
    assert not is_active(window, utc(2026, 6, 6, 3, 0))  # past ends_at


def test_recurring_window_suppresses_through_the_pipeline(make_integration, client, actor_as, service, org):
    _, key = make_integration("pagerduty")
    now = timezone.now()
    window = maintenance_window_create(
        actor=actor_as("manager"),
        name="every day, all day",
        service=service,
        recurrence=Recurrence.WEEKLY,
        weekdays=list(range(7)),
        start_time=time(0, 0),
        duration_minutes=24 * 60,
        time_zone="Pacific/Auckland",
    )
    assert is_active(window, now)  # the window covers every instant

    post(client, "/v2/enqueue", pd_trigger(key))

    assert not Incident.objects.exists() and Alert.objects.get().suppressed


def test_maintenance_page_shows_what_was_suppressed(make_integration, client, client_as, window):
    _, key = make_integration("pagerduty")
    post(client, "/v2/enqueue", pd_trigger(key))

    page = client_as("operator").get(f"/maintenance/{window.pk}/")

    assert page.status_code == 200
    assert "DISK at 99% on machine prod-datapipe03.example.com" in page.content.decode()
    listing = client_as("operator").get("/maintenance/")
    assert "DB upgrade" in listing.content.decode()
