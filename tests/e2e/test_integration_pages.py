"""The integration console and maintenance pages in a browser: list, kind picker and per-kind form,
the console with its example, "Send a test event" followed to the incident, maintenance windows."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from incidents.ingest.services import integration_create, maintenance_window_create
from incidents.models import Incident, Integration
from opsplatform.core.actors import Actor
from tests.accounts.factories import PASSWORD
from tests.incidents.factories import ServiceFactory
from tests.incidents.ingest.payloads import alertmanager, am_url, pd_trigger, post

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def login(page, base_url, username):
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login" not in url)


@pytest.fixture
def landscape(org, users, team):
    """Two services, an integration of each kind (two of them with traffic) and three windows."""
    payments = ServiceFactory(organization=org, name="Payments API", slug="payments-api", owner_team=team)
    search = ServiceFactory(organization=org, name="Search", slug="search", owner_team=team)
    actor = Actor.for_member(users["manager"], org)
    made = {}
    for name, kind, service, extra in [
        ("Prometheus production", "alertmanager", payments, {}),
        ("Grafana Cloud", "grafana", search, {}),
        ("Datadog (Events v2)", "pagerduty", payments, {}),
        ("Deploy webhook", "webhook", search, {}),
        ("Nightly backup", "heartbeat", payments, {"heartbeat_period_seconds": 86400}),
    ]:
        issued = integration_create(actor=actor, name=name, kind=kind, service=service, **extra)
        made[kind] = issued
    sender = Client()
    assert post(sender, am_url(made["alertmanager"].key), alertmanager()).status_code == 202
    assert post(sender, "/v2/enqueue", pd_trigger(made["pagerduty"].key)).status_code == 202
    now = timezone.now()
    maintenance_window_create(
        actor=actor,
        name="Database upgrade",
        service=search,
        recurrence="once",
        starts_at=now - timedelta(minutes=30),
        ends_at=now + timedelta(hours=1),
        time_zone="Europe/Berlin",
    )
    maintenance_window_create(
        actor=actor,
        name="Sunday index rebuild",
        service=search,
        recurrence="weekly",
        weekdays=[6],
        start_time=(now + timedelta(hours=3)).time().replace(second=0, microsecond=0),
        duration_minutes=120,
        time_zone="UTC",
    )
    maintenance_window_create(
        actor=actor,
        name="Datacenter move",
        service=payments,
        recurrence="once",
        starts_at=now - timedelta(days=3),
        ends_at=now - timedelta(days=2),
        time_zone="UTC",
    )
    return {"payments": payments, "search": search, **made}


def test_integration_pages(live_server_url, browser, landscape, screenshot, console_errors):
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    errors = console_errors(page)
    login(page, live_server_url, "manager")

    # The list: every kind, its service, traffic in the last 24 h and a health dot.
    page.goto(f"{live_server_url}/integrations/")
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(5)
    am = landscape["alertmanager"].integration
    expect(page.locator(f"#integration-{am.pk} td.num")).to_have_text("1")
    expect(page.locator(f"#integration-{am.pk}")).to_contain_text("Receiving")
    screenshot(page, "integration-list")

    # Filters live in the URL: one service's integrations.
    search = landscape["search"]
    page.goto(f"{live_server_url}/integrations/?service={search.pk}")
    expect(rows).to_have_count(2)
    expect(page.locator("table")).not_to_contain_text("Prometheus production")

    # New integration: a kind first, then only that kind's fields.
    page.goto(f"{live_server_url}/integrations/")
    page.click("text=New integration")
    page.click("a.kind-card[data-kind=grafana]")
    expect(page.locator("input[name=hmac_secret]")).to_have_count(1)
    expect(page.locator("textarea[name=webhook_mapping]")).to_have_count(0)
    expect(page.locator("input[name=heartbeat_period_seconds]")).to_have_count(0)
    page.fill("input[name=name]", "Grafana staging")
    screenshot(page, "integration-new")
    page.click("button:has-text('Create integration')")
    key = page.locator("#issued-key").inner_text().strip()
    assert key.startswith("opi_")
    created = Integration.objects.get(name="Grafana staging")
    assert created.kind == "grafana"
    page.goto(f"{live_server_url}/integrations/{created.pk}/")
    assert key not in page.content()

    # The console: masked key, the example, and a test event followed to its incident.
    pd = landscape["pagerduty"].integration
    page.goto(f"{live_server_url}/integrations/{pd.pk}/")
    expect(page.locator("#masked-key")).to_have_text(re.compile(r"^opi_\S{6}…••••$"))
    expect(page.locator("#curl-example")).to_contain_text("curl -sS -X POST")
    assert landscape["pagerduty"].key not in page.content()
    screenshot(page, "integration-console")
    page.click("#send-test-event-card")
    link = page.locator("#test-incident-link")
    expect(link).to_be_visible()
    link.click()
    page.wait_for_url(re.compile(r"/incidents/\d+/$"))
    incident = Incident.objects.get(pk=int(page.url.rstrip("/").rsplit("/", 1)[1]))
    assert incident.title.startswith("[Test]") and incident.labels["test"] == "true"
    expect(page.locator("h1")).to_contain_text("[Test]")

    page.goto(f"{live_server_url}/integrations/{pd.pk}/events/")
    expect(page.locator(".events > li")).to_have_count(2)
    assert landscape["pagerduty"].key not in page.content()
    screenshot(page, "integration-events")

    # Maintenance: state of each window, and "New maintenance window" in a dialog.
    page.goto(f"{live_server_url}/maintenance/")
    expect(page.locator("table tbody tr")).to_have_count(3)
    expect(page.locator("tr", has_text="Database upgrade")).to_contain_text("Active")
    expect(page.locator("tr", has_text="Sunday index rebuild")).to_contain_text("Upcoming")
    expect(page.locator("tr", has_text="Datacenter move")).to_contain_text("Ended")
    screenshot(page, "maintenance-list")
    page.click("text=New maintenance window")
    expect(page.locator("dialog#new-window")).to_be_visible()
    screenshot(page, "maintenance-new")

    assert errors == []
