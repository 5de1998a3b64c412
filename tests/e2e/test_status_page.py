"""The public status page in Chromium, not logged in: a monitor goes down and its component shows a
major outage next to the public notice; after recovery it is operational again. The subscribe form
answers. And the operators' page with its dialogs."""

from datetime import UTC, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from monitoring.models import Rollup
from monitoring.probes.base import ProbeResult
from monitoring.services import monitor_create, record_result
from monitoring.statuspages import services
from monitoring.statuspages.models import StatusSubscriber
from opsplatform.core.actors import Actor
from tests.e2e.test_incident_live import login
from tests.incidents.factories import ServiceFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def status_page(org, users, settings):
    settings.STATUS_PAGE_CACHE_SECONDS = 0  # the test watches state change between two loads
    manager = Actor.for_member(users["manager"], org)
    operator = Actor.for_member(users["operator"], org)
    checkout = ServiceFactory(organization=org, name="Checkout", slug="checkout")
    api = monitor_create(
        actor=manager,
        name="API health",
        kind="http",
        target="https://api.example.com/health",
        interval_seconds=30,
    )
    web = monitor_create(
        actor=manager, name="Website", kind="http", target="https://www.example.com/", interval_seconds=60
    )
    today = timezone.now().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    for monitor in (api, web):
        for day in range(60):
            failures = 30 if day == 12 and monitor == api else (2 if day % 17 == 3 else 0)
            Rollup.objects.create(
                monitor=monitor,
                period="hour",
                start=today - timedelta(days=day),
                checks=120,
                failures=failures,
            )
    page = services.page_create(
        actor=manager, title="Acme status", description="Our services, live.", published=True
    )
    services.component_create(actor=manager, page=page, name="Public API", group="Platform", monitors=[api])
    services.component_create(actor=manager, page=page, name="Website", group="Platform", monitors=[web])
    checkout_component = services.component_create(
        actor=manager, page=page, name="Checkout", services=[checkout]
    )
    services.maintenance_schedule(
        actor=operator,
        page=page,
        title="Checkout database upgrade",
        body="Checkout may be slow for up to an hour.",
        scheduled_for=timezone.now() + timedelta(days=2),
        scheduled_until=timezone.now() + timedelta(days=2, hours=1),
        components=[checkout_component],
    )
    for monitor in (api, web):
        record_result(monitor.pk, ProbeResult("up", "status 200", 21.0))
    return page, api


def test_public_page_follows_a_monitor_down_and_back(
    live_server_url, browser, status_page, screenshot, console_errors
):
    page, api = status_page
    tab = browser.new_context().new_page()  # no login: a member of the public
    errors = console_errors(tab)
    tab.goto(f"{live_server_url}/status/acme/")
    expect(tab.locator("h1")).to_have_text("Acme status")
    expect(tab.locator(".status-banner")).to_contain_text("All Systems Operational")
    expect(tab.locator("[data-component] .component-name")).to_have_text(
        ["Public API", "Website", "Checkout"]
    )
    expect(tab.locator(".uptime-bars")).to_have_count(2)
    expect(tab.locator("#notice-" + str(page.notices.get().pk))).to_contain_text("Checkout database upgrade")

    for _ in range(2):  # down_after 2: confirmed on the second failure
        record_result(api.pk, ProbeResult("down", "connection refused", None))
    tab.reload()
    api_row = tab.locator("[data-component]", has_text="Public API")
    expect(api_row.locator(".badge")).to_have_text("Major outage")
    expect(tab.locator(".status-banner")).to_contain_text("Major System Outage")
    screenshot(tab, "status-page-outage")

    record_result(api.pk, ProbeResult("up", "status 200", 19.0))
    tab.reload()
    expect(api_row.locator(".badge")).to_have_text("Operational")
    expect(tab.locator(".status-banner")).to_contain_text("All Systems Operational")
    screenshot(tab, "status-page")

    tab.fill("#id_email", "reader@example.com")
    tab.click("button:has-text('Subscribe')")
    expect(tab.locator("h1")).to_have_text("Check your inbox")
    assert StatusSubscriber.objects.filter(email="reader@example.com", confirmed_at__isnull=True).exists()
    assert errors == []


def test_operator_posts_an_incident_from_the_dialog(
    live_server_url, browser, status_page, screenshot, console_errors
):
    page, _ = status_page
    tab = browser.new_context().new_page()
    errors = console_errors(tab)
    login(tab, live_server_url, "operator")
    tab.goto(f"{live_server_url}/monitors/status-pages/{page.pk}/")
    expect(tab.locator("h1")).to_contain_text("Acme status")
    tab.click("button[data-dialog='new-incident']")
    dialog = tab.locator("#new-incident")
    expect(dialog).to_be_visible()
    dialog.locator("#id_title").fill("Slow checkout")
    dialog.locator("#id_body").fill("Payments take longer than usual; we are on it.")
    screenshot(tab, "status-page-new-incident")
    dialog.locator("button:has-text('Publish')").click()
    expect(tab.locator(".messages")).to_contain_text("Slow checkout")
    screenshot(tab, "status-page-operator")

    public = browser.new_context().new_page()
    public.goto(f"{live_server_url}/status/acme/")
    expect(public.locator(".notice").first).to_contain_text("Payments take longer than usual")
    assert errors == []
