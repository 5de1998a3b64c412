"""Two operators in two browsers: one acknowledges, the other's open pages change without reload."""

import pytest
from playwright.sync_api import expect

from incidents.services import incident_create
from opsplatform.core.actors import Actor
from tests.accounts.factories import PASSWORD
from tests.incidents.factories import ServiceFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def login(page, base_url, username):
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login" not in url)


def test_acknowledge_shows_up_live_in_another_browser(live_server_url, browser, org, users, team):
    service = ServiceFactory(organization=org, name="Payments API", slug="payments-api", owner_team=team)
    incident = incident_create(
        actor=Actor.for_member(users["operator"], org), service=service, title="Card payments failing"
    )
    first = browser.new_context().new_page()
    second = browser.new_context().new_page()
    login(first, live_server_url, "operator")
    login(second, live_server_url, "manager")

    second.goto(f"{live_server_url}/incidents/")
    second.wait_for_function("document.body.dataset.live === 'on'")
    second.evaluate("window.__notReloaded = true")
    row_status = second.locator(f"#incident-{incident.pk} [data-status]")
    expect(row_status).to_have_text("Triggered")

    detail = browser.new_context().new_page()
    login(detail, live_server_url, "admin")
    detail.goto(f"{live_server_url}/incidents/{incident.pk}/")
    detail.wait_for_function("document.body.dataset.live === 'on'")

    first.goto(f"{live_server_url}/incidents/{incident.pk}/")
    first.click("#ack-button")
    expect(first.locator("#incident-status")).to_have_text("Acknowledged")

    # The other operator's list and the third person's detail page follow within 2 s, no reload.
    expect(row_status).to_have_text("Acknowledged", timeout=2000)
    assert second.evaluate("window.__notReloaded") is True
    expect(detail.locator("#incident-status")).to_have_text("Acknowledged", timeout=2000)
    expect(detail.locator("#timeline li[data-verb='incident.acknowledged']")).to_have_count(1, timeout=2000)

    incident.refresh_from_db()
    assert incident.status == "acknowledged"
    assert incident.acknowledged_by == users["operator"]


def test_keyboard_acknowledge(live_server_url, browser, org, users, team):
    service = ServiceFactory(organization=org, name="Auth", slug="auth", owner_team=team)
    actor = Actor.for_member(users["operator"], org)
    older = incident_create(actor=actor, service=service, title="Older one")
    newest = incident_create(actor=actor, service=service, title="Token refresh failing")
    page = browser.new_context().new_page()
    login(page, live_server_url, "operator")
    page.goto(f"{live_server_url}/incidents/")
    page.keyboard.press("j")  # first row: the newest incident
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/incidents/{newest.pk}/")
    page.keyboard.press("a")
    expect(page.locator("#incident-status")).to_have_text("Acknowledged")
    newest.refresh_from_db()
    older.refresh_from_db()
    assert (newest.status, older.status) == ("acknowledged", "triggered")
