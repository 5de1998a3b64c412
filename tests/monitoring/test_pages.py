"""``/monitors/`` and a monitor's page: content, filters, the per-kind form, bulk pause/resume, access."""

import pytest
from django.urls import reverse

from monitoring.models import Monitor
from monitoring.probes.base import ProbeResult
from monitoring.rollups import roll_up
from monitoring.services import record_result
from tests.ledger import verbs

pytestmark = pytest.mark.django_db


@pytest.fixture
def two(make_monitor, service):
    api = make_monitor(name="Checkout API", target="https://api.example.com/", service=service)
    db = make_monitor(name="Orders DB", kind="tcp", target="db.example.com:5432")
    for latency in (12.0, 30.0, 18.0):
        record_result(api.pk, ProbeResult("up", "status 200", latency))
    record_result(db.pk, ProbeResult("down", "connection failed", None))
    record_result(db.pk, ProbeResult("down", "connection failed", None))
    return api, db


def test_the_list_shows_state_sparkline_and_service(client_as, two):
    response = client_as("viewer").get(reverse("monitoring:index"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Checkout API" in html and "Orders DB" in html
    assert '<span class="badge status-resolved">Up</span>' in html
    assert '<span class="badge status-triggered">Down</span>' in html
    assert 'aria-label="Latency of Checkout API"' in html  # the sparkline
    assert "Checkout" in html
    assert "New monitor" not in html  # a viewer cannot create
    assert "Pause selected" not in html


def test_filters_live_in_the_url(client_as, two):
    html = client_as("viewer").get(reverse("monitoring:index") + "?state=down").content.decode()
    assert "Orders DB" in html and "Checkout API" not in html

    html = client_as("viewer").get(reverse("monitoring:index") + "?q=nothing-like-it").content.decode()
    assert "No monitors match" in html


def test_empty_state(client_as, org):
    html = client_as("manager").get(reverse("monitoring:index")).content.decode()
    assert "No monitors yet" in html
    assert "New monitor" in html


def test_create_through_the_kind_form(client_as, service):
    response = client_as("manager").post(
        reverse("monitoring:index"),
        {
            "kind": "http",
            "name": "Homepage",
            "target": "https://www.example.com/",
            "service": service.pk,
            "interval_seconds": 60,
            "down_after": 2,
            "up_after": 1,
            "method": "GET",
            "expected_status": "200, 204",
            "body_contains": "Welcome",
        },
    )

    monitor = Monitor.objects.get(name="Homepage")
    assert response.status_code == 302
    assert response["Location"] == reverse("monitoring:detail", args=[monitor.pk])
    assert monitor.assertions == {"method": "GET", "expected_status": [200, 204], "body_contains": "Welcome"}
    assert monitor.service == service


def test_a_bad_form_reopens_its_dialog_with_the_error(client_as):
    response = client_as("manager").post(
        reverse("monitoring:index"),
        {
            "kind": "dns",
            "name": "Zone",
            "target": "example.com",
            "interval_seconds": 5,
            "down_after": 2,
            "up_after": 1,
        },
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="new-dns" class="dialog" data-open' in html
    assert "Ensure this value is greater than or equal to 10." in html
    assert not Monitor.objects.exists()


def test_bulk_pause_and_resume(client_as, two):
    api, db = two
    client = client_as("manager")

    client.post(reverse("monitoring:bulk"), {"action": "pause", "monitor": [api.pk, db.pk]})
    assert set(Monitor.objects.values_list("state", flat=True)) == {"paused"}
    client.post(reverse("monitoring:bulk"), {"action": "resume", "monitor": [db.pk]})
    db.refresh_from_db()
    assert db.state == "pending"
    assert verbs(db, prefix="monitor.p") == ["monitor.paused"]


def test_viewer_cannot_write_and_outsider_sees_nothing(client_as, two):
    api, _db = two
    viewer = client_as("viewer")
    assert (
        viewer.post(reverse("monitoring:bulk"), {"action": "pause", "monitor": [api.pk]}).status_code == 403
    )
    assert viewer.post(reverse("monitoring:action", args=[api.pk, "pause"])).status_code == 403
    api.refresh_from_db()
    assert not api.paused

    outsider = client_as("outsider")
    assert outsider.get(reverse("monitoring:detail", args=[api.pk])).status_code == 404
    assert "Checkout API" not in outsider.get(reverse("monitoring:index")).content.decode()


def test_the_monitor_page_has_charts_and_checks(client_as, two):
    api, _db = two
    roll_up(minutes_back=5)
    # Results of this minute roll up once the minute is over; the hour bucket includes them already.
    html = client_as("viewer").get(reverse("monitoring:detail", args=[api.pk])).content.decode()

    assert "Recent checks" in html
    assert html.count("status 200") == 3
    assert "Uptime per hour, last 30 days" in html
    assert "<svg" in html
