"""The home page in a real browser: a manager's home with demo-like data, on a desktop and a phone,
updating live when an incident opens; the members page's row menu and invite dialog."""

import threading

import pytest
from django.db import connection
from playwright.sync_api import expect

from incidents.services import incident_create
from notifications.models import Notification, NotificationStatus
from opsplatform.core.actors import Actor
from tests.e2e.test_incident_live import login
from tests.home import conftest as home
from tests.notifications.ticks import drive, escalate

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# The home tests' demo-like organization (fixtures are found by name in this module).
allow_loopback, fast_retries, receiver = home.allow_loopback, home.fast_retries, home.receiver
service, open_incident, sla_policies = home.service, home.open_incident, home.sla_policies
busy_org, weekly_schedule, webhook = home.busy_org, home.weekly_schedule, home.webhook


def elsewhere(work) -> None:
    """Run ``work`` in a thread of its own, as another request would: this thread runs Playwright's
    event loop, where the after-commit realtime push (async_to_sync) cannot run."""

    def run():
        try:
            work()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)


@pytest.fixture
def dead_letter(allow_loopback, fast_retries, webhook, receiver, open_incident):
    """A notification the webhook refused five times: a dead letter and a failing channel."""
    receiver.respond_with(then=503)
    _, row = escalate(open_incident, title="Queue backlog on orders", severity="sev2")
    drive(lambda: Notification.objects.get(pk=row.pk).status == NotificationStatus.DEAD, row.next_attempt_at)
    return row


def test_manager_home_desktop_and_phone_with_a_live_update(
    live_server_url, browser, screenshot, console_errors, org, users, busy_org, weekly_schedule, dead_letter
):
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    errors = console_errors(page)
    login(page, live_server_url, "manager")
    page.goto(f"{live_server_url}/")
    page.wait_for_function("document.body.dataset.live === 'on'")

    expect(page.locator("h1#current-organization")).to_have_text("Acme")
    expect(page.locator("[data-stat=triggered] .stat-value")).to_have_text("4")
    attention = page.locator("#card-attention")
    expect(attention.get_by_role("heading", name="Needs attention")).to_be_visible()
    first = attention.locator("[data-group=triggered] li").first
    expect(first).to_contain_text("Card payments failing")
    expect(first.locator(".sev")).to_have_text("SEV1")
    expect(page.locator("#card-sla [data-sla=breached]")).to_contain_text("Card payments failing")
    expect(page.locator(f"#card-oncall #home-schedule-{weekly_schedule.pk}")).to_be_visible()
    expect(page.locator("#home-dead-letters")).to_contain_text("Queue backlog on orders")
    expect(page.locator("#home-failing-channels")).to_contain_text("Ops webhook")
    expect(page.locator("#card-activity li").first).to_be_visible()
    screenshot(page, "home")

    # An incident opened elsewhere appears without a reload, and the tiles count it.
    page.evaluate("window.__notReloaded = true")
    elsewhere(
        lambda: incident_create(
            actor=Actor.for_member(users["operator"], org), title="Live: API error rate", severity="sev1"
        )
    )
    expect(attention.locator("[data-group=triggered]")).to_contain_text("Live: API error rate", timeout=5000)
    expect(page.locator("[data-stat=triggered] .stat-value")).to_have_text("5", timeout=5000)
    expect(page.locator("#card-activity")).to_contain_text("Live: API error rate", timeout=5000)
    assert page.evaluate("window.__notReloaded") is True

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True).new_page()
    phone_errors = console_errors(phone)
    login(phone, live_server_url, "manager")
    phone.goto(f"{live_server_url}/")
    expect(phone.locator("#card-attention")).to_contain_text("Live: API error rate")
    expect(phone.locator("[data-stat=triggered]")).to_be_visible()
    expect(phone.locator("#card-oncall")).to_be_visible()
    # Nothing sticks out sideways on a phone.
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    screenshot(phone, "home-phone")

    assert errors == [] and phone_errors == []


def test_viewer_home_has_no_actions(live_server_url, browser, screenshot, console_errors, busy_org):
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    errors = console_errors(page)
    login(page, live_server_url, "viewer")
    page.goto(f"{live_server_url}/")

    expect(page.locator("#card-attention")).to_contain_text("Card payments failing")
    expect(page.get_by_role("link", name="New incident")).to_have_count(0)
    expect(page.locator("#card-oncall")).to_contain_text("You are not on a team yet")
    screenshot(page, "home-viewer")
    assert errors == []


def test_members_row_menu_and_invite_dialog(live_server_url, browser, screenshot, console_errors, users):
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    errors = console_errors(page)
    login(page, live_server_url, "admin")
    page.goto(f"{live_server_url}/settings/members/")

    own = page.locator(f"#member-{users['admin'].memberships.get().pk}")
    expect(own.locator("details.menu")).to_have_count(0)
    viewer_row = page.locator(f"#member-{users['viewer'].memberships.get().pk}")
    remove = viewer_row.get_by_role("button", name="Remove from organization")
    expect(remove).to_be_hidden()
    viewer_row.locator("details.menu summary").click()
    expect(remove).to_be_visible()
    viewer_row.get_by_role("button", name="Make operator").click()
    expect(viewer_row.locator("[data-role]")).to_have_text("Operator")
    membership = users["viewer"].memberships.get()
    assert membership.role == "operator"

    page.get_by_role("button", name="Invite").click()
    dialog = page.locator("#invite-dialog")
    expect(dialog).to_be_visible()
    screenshot(page, "members-invite")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()

    for path in ("/settings/teams/", "/settings/tokens/"):
        page.goto(f"{live_server_url}{path}")
        expect(page.locator(".card").first).to_be_visible()
    page.get_by_role("button", name="New token").click()
    expect(page.locator("#new-token")).to_be_visible()
    screenshot(page, "tokens-new")
    assert errors == []
