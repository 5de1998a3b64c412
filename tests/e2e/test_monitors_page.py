"""The monitor list in Chromium: states, sparklines, the per-kind "New monitor" dialog, no console errors."""

import pytest
from playwright.sync_api import expect

from monitoring.probes.base import ProbeResult
from monitoring.services import monitor_create, record_result
from opsplatform.core.actors import Actor
from tests.e2e.test_incident_live import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_monitor_list_and_new_monitor_dialog(
    live_server_url, browser, org, users, screenshot, console_errors
):
    actor = Actor.for_member(users["manager"], org)
    for i, (name, outcomes) in enumerate(
        [("Checkout API", ["up"] * 12), ("Orders DB", ["down", "down"]), ("Search", ["up", "degraded"])]
    ):
        monitor = monitor_create(
            actor=actor,
            name=name,
            kind="http",
            target=f"https://svc{i}.example.com/health",
            interval_seconds=30,
        )
        for n, outcome in enumerate(outcomes):
            record_result(monitor.pk, ProbeResult(outcome, "status 200", 20.0 + (n * 7) % 30))
    page = browser.new_context().new_page()
    errors = console_errors(page)
    login(page, live_server_url, "manager")

    page.goto(f"{live_server_url}/monitors/")
    expect(page.locator("h1")).to_have_text("Monitors")
    expect(page.locator("svg.sparkline")).to_have_count(2)  # Orders DB has only failed checks
    screenshot(page, "monitors-list")

    page.click("summary:has-text('New monitor')")
    page.click("button[data-dialog='new-dns']")
    expect(page.locator("#new-dns")).to_be_visible()
    expect(page.locator("#id_dns_record_type")).to_be_visible()
    screenshot(page, "monitors-new-dns")
    assert errors == []
