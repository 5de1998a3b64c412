"""Status page services: pages, components, notices, the derived states, uptime from rollups, fan-out."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from incidents.ingest.services.maintenance_windows import maintenance_window_create
from incidents.services import incident_create, incident_resolve
from monitoring.models import Monitor, Rollup
from monitoring.statuspages import selectors, services
from monitoring.statuspages.models import StatusDelivery, StatusNotice, StatusSubscriber
from monitoring.statuspages.services.outbox import delivery_key, enqueue_update
from tests.ledger import verbs
from tests.monitoring.statuspages.conftest import set_state

pytestmark = pytest.mark.django_db


def states(page) -> dict[str, str]:
    return {c.name: c.status for c in selectors.build_snapshot(page)["components"]}


def test_page_slug_defaults_to_the_organization_and_is_recorded(page, org):
    assert page.slug == org.slug == "acme"
    assert page.organization == org
    assert verbs(page) == ["status_page.created"]


def test_page_validation(actor_as, page):
    manager = actor_as("manager")
    with pytest.raises(ValidationError) as taken:
        services.page_create(actor=manager, title="Second", slug="acme")
    assert "slug" in taken.value.message_dict
    with pytest.raises(ValidationError) as bad_host:
        services.page_create(actor=manager, title="Second", slug="second", custom_domain="not a host")
    assert "custom_domain" in bad_host.value.message_dict
    with pytest.raises(PermissionDenied):
        services.page_create(actor=actor_as("operator"), title="Third", slug="third")


def test_components_bind_only_the_organizations_monitors(page, actor_as, other_org):
    foreign = Monitor.objects.create(organization=other_org, name="theirs", kind="tcp", target="x:1")
    with pytest.raises(ValidationError) as exc:
        services.component_create(actor=actor_as("manager"), page=page, name="API", monitors=[foreign])
    assert "monitors" in exc.value.message_dict
    assert not page.components.exists()


def test_component_state_follows_its_monitors(page, components, monitors):
    api, web = monitors
    assert states(page) == {"API": "operational", "Website": "operational", "Checkout": "operational"}
    set_state(api, "down")
    set_state(web, "degraded")
    assert states(page) == {
        "API": "major_outage",
        "Website": "degraded_performance",
        "Checkout": "operational",
    }
    set_state(web, "up", flapping=True)
    assert states(page)["Website"] == "degraded_performance"


def test_open_incidents_on_a_bound_service_count_by_severity(page, components, service, actor_as):
    incident = incident_create(
        actor=actor_as("operator"), title="DB pool exhausted", service=service, severity="sev2"
    )
    assert states(page)["Checkout"] == "partial_outage"
    incident_resolve(actor=actor_as("operator"), incident=incident)
    assert states(page)["Checkout"] == "operational"


def test_a_public_incident_sets_its_components_until_resolved(page, components, actor_as):
    _, website, _ = components
    operator = actor_as("operator")
    notice = services.notice_open(
        actor=operator,
        page=page,
        title="Elevated errors",
        body="We are looking into it.",
        component_status="partial_outage",
        components=[website],
    )
    assert states(page)["Website"] == "partial_outage"
    assert selectors.build_snapshot(page)["indicator"] == "major"
    services.notice_update(actor=operator, notice=notice, status="resolved", body="Fixed.")
    notice.refresh_from_db()
    assert notice.resolved_at is not None and not notice.is_open
    assert states(page)["Website"] == "operational"
    assert verbs(notice) == ["status_notice.opened", "status_notice.updated", "status_notice.updated"]
    with pytest.raises(ValidationError):
        services.notice_update(actor=operator, notice=notice, status="monitoring", body="Again?")


def test_maintenance_applies_only_inside_its_window(page, components, monitors, actor_as):
    api_component = components[0]
    set_state(monitors[0], "down")
    now = timezone.now()
    operator = actor_as("operator")
    later = services.maintenance_schedule(
        actor=operator,
        page=page,
        title="Database upgrade",
        body="Writes pause for a few minutes.",
        scheduled_for=now + timedelta(days=1),
        scheduled_until=now + timedelta(days=1, hours=1),
        components=[api_component],
    )
    assert later.status == "scheduled"
    assert states(page)["API"] == "major_outage"
    services.maintenance_schedule(
        actor=operator,
        page=page,
        title="Network work",
        body="Expect short interruptions.",
        scheduled_for=now - timedelta(minutes=5),
        scheduled_until=now + timedelta(minutes=55),
        components=[api_component],
    )
    snap = selectors.build_snapshot(page)
    assert {c.name: c.status for c in snap["components"]}["API"] == "under_maintenance"
    assert [n.title for n in snap["maintenance"]] == ["Network work", "Database upgrade"]


def test_notice_validation(page, components, actor_as, other_org):
    operator = actor_as("operator")
    with pytest.raises(ValidationError) as exc:
        services.notice_open(actor=operator, page=page, title="", body="", status="completed")
    assert {"title", "status"} <= set(exc.value.message_dict)
    now = timezone.now()
    with pytest.raises(ValidationError) as backwards:
        services.maintenance_schedule(
            actor=operator,
            page=page,
            title="x",
            body="y",
            scheduled_for=now,
            scheduled_until=now - timedelta(hours=1),
        )
    assert "scheduled_until" in backwards.value.message_dict
    with pytest.raises(PermissionDenied):
        services.notice_open(actor=actor_as("viewer"), page=page, title="x", body="y")
    assert not StatusNotice.objects.exists()


def test_uptime_bars_come_from_hour_rollups(page, components, monitors):
    api = monitors[0]
    now = timezone.now()
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    yesterday = today - timedelta(days=1)
    Rollup.objects.create(
        monitor=api, period="hour", start=yesterday + timedelta(hours=3), checks=60, failures=6
    )
    Rollup.objects.create(
        monitor=api, period="hour", start=yesterday + timedelta(hours=4), checks=60, failures=0
    )
    Rollup.objects.create(monitor=api, period="hour", start=today, checks=40, failures=0)
    # Minute rollups and buckets older than 90 days do not count.
    Rollup.objects.create(monitor=api, period="minute", start=today, checks=1, failures=1)
    Rollup.objects.create(
        monitor=api, period="hour", start=today - timedelta(days=95), checks=10, failures=10
    )

    view = next(c for c in selectors.build_snapshot(page, now=now)["components"] if c.name == "API")

    assert len(view.days) == 90
    assert view.days[-1].date == today.date() and view.days[-1].percent == 100.0
    assert view.days[-2].percent == 95.0 and view.days[-2].tone == "warn"
    assert all(d.percent is None for d in view.days[:-2])
    assert view.uptime_percent == round(100 * (160 - 6) / 160, 3)


def test_fan_out_is_once_per_subscriber_and_only_to_confirmed_ones(page, actor_as):
    now = timezone.now()
    confirmed = StatusSubscriber.objects.create(
        organization=page.organization, page=page, email="a@example.com", confirmed_at=now
    )
    StatusSubscriber.objects.create(organization=page.organization, page=page, email="pending@example.com")
    StatusSubscriber.objects.create(
        organization=page.organization,
        page=page,
        email="gone@example.com",
        confirmed_at=now,
        unsubscribed_at=now,
    )
    notice = services.notice_open(
        actor=actor_as("operator"), page=page, title="Slow logins", body="Investigating."
    )
    update = notice.updates.get()
    assert list(StatusDelivery.objects.values_list("subscriber_id", "kind")) == [(confirmed.pk, "update")]
    assert StatusDelivery.objects.get().idempotency_key == delivery_key("update", confirmed.pk, update.pk)
    assert enqueue_update(update) == 0  # a repeat of the fan-out adds nothing
    assert StatusDelivery.objects.count() == 1
    quiet = services.notice_update(
        actor=actor_as("operator"), notice=notice, status="identified", body="Found.", notify=False
    )
    assert not quiet.deliveries.exists()


def test_a_snapshot_takes_a_fixed_number_of_queries(page, components, django_assert_max_num_queries):
    with django_assert_max_num_queries(10):
        selectors.build_snapshot(page)


def test_day_bounds_are_utc(page, components, monitors):
    # A bucket at 23:00 UTC belongs to that UTC day whatever the server's zone.
    api = monitors[0]
    day = datetime(2026, 3, 1, 23, tzinfo=UTC)
    Rollup.objects.create(monitor=api, period="hour", start=day, checks=10, failures=5)
    view = next(
        c
        for c in selectors.build_snapshot(page, now=day + timedelta(hours=2))["components"]
        if c.name == "API"
    )
    assert view.days[-2].date == day.date() and view.days[-2].percent == 50.0


def test_maintenance_takes_a_one_off_windows_times(page, components, service, actor_as):
    starts = timezone.now() + timedelta(days=3)
    window = maintenance_window_create(
        actor=actor_as("manager"),
        name="DB upgrade",
        service=service,
        starts_at=starts,
        ends_at=starts + timedelta(hours=2),
    )
    notice = services.maintenance_schedule(
        actor=actor_as("operator"),
        page=page,
        title="Database upgrade",
        body="Planned.",
        scheduled_for=None,
        scheduled_until=None,
        maintenance_window=window,
    )
    assert (notice.scheduled_for, notice.scheduled_until) == (window.starts_at, window.ends_at)
    assert notice.maintenance_window == window


def test_latency_is_the_checks_weighted_median_of_the_last_day(page, components, monitors, client):
    api = monitors[0]
    now = timezone.now()
    hour = now.replace(minute=0, second=0, microsecond=0)
    Rollup.objects.create(monitor=api, period="hour", start=hour, checks=30, failures=0, latency_p50=100.0)
    Rollup.objects.create(
        monitor=api, period="hour", start=hour - timedelta(hours=2), checks=10, failures=0, latency_p50=300.0
    )
    # Older than a day, minute buckets and rollups without latency do not count.
    Rollup.objects.create(
        monitor=api, period="hour", start=hour - timedelta(hours=30), checks=9, failures=0, latency_p50=900.0
    )
    Rollup.objects.create(monitor=api, period="minute", start=hour, checks=5, failures=0, latency_p50=7000.0)
    Rollup.objects.create(monitor=api, period="hour", start=hour - timedelta(hours=1), checks=50, failures=0)

    view = next(c for c in selectors.build_snapshot(page, now=now)["components"] if c.name == "API")

    assert view.latency_ms == round((100 * 30 + 300 * 10) / 40) == 150
    selectors.forget(page.pk)
    html = client.get(f"/status/{page.slug}/").content.decode()
    assert "150 ms response (24 h)" in html
    summary = client.get(f"/status/{page.slug}/summary.json").json()
    assert [c["latency_ms_24h"] for c in summary["components"] if c["name"] == "API"] == [150]
