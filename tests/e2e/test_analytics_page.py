"""The analytics page in a real browser: the hand-computed data set's figures, its charts and tables,
a filter that round-trips through the URL, and no console errors."""

import pytest
from playwright.sync_api import expect

from tests.analytics import conftest as analytics
from tests.e2e.test_incident_live import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

world = analytics.world  # the fixed data set of tests/analytics (figures computed by hand there)
RANGE = "from=2026-03-01&to=2026-03-31"


def test_manager_reads_figures_charts_and_filters(
    live_server_url, browser, screenshot, console_errors, world
):
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    errors = console_errors(page)
    login(page, live_server_url, "manager")
    page.goto(f"{live_server_url}/analytics/?{RANGE}")

    expect(page.get_by_role("link", name="Analytics")).to_have_attribute("aria-current", "page")
    expect(page.locator('[data-figure="incidents"]')).to_have_text("5")
    expect(page.locator('[data-figure="mtta_seconds"]')).to_contain_text("9 min")  # 555 s, by hand
    charts = page.locator("svg.chart")
    expect(charts.first).to_be_visible()
    assert charts.count() >= 2
    expect(page.locator("#oncall-section")).to_be_visible()
    screenshot(page, "analytics")

    # Grouping by service is in the URL; Back returns to the grouping by day.
    page.select_option("#f-group", "service")
    page.locator("#analytics-filters").evaluate("form => form.requestSubmit()")
    page.wait_for_url(lambda url: "group_by=service" in url)
    expect(page.locator("#f-group")).to_have_value("service")
    expect(page.locator("table td", has_text="Checkout").first).to_be_visible()
    page.go_back()
    page.wait_for_url(lambda url: "group_by=service" not in url)

    phone = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    console_errors(phone)
    login(phone, live_server_url, "manager")
    phone.goto(f"{live_server_url}/analytics/?{RANGE}")
    expect(phone.locator('[data-figure="incidents"]')).to_have_text("5")
    screenshot(phone, "analytics-phone")
    assert errors == []
