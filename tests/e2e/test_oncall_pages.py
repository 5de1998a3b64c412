"""On-call pages in a real browser: the schedule timeline (desktop and phone), picking a range on it
to add an override, the deliveries page and the audit log — each screenshotted, none with console
errors."""

from datetime import time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from incidents.services import incident_create
from notifications.models import Notification, NotificationStatus, ScheduleOverride
from opsplatform.core.actors import Actor
from tests.accounts.factories import PASSWORD
from tests.incidents.factories import ServiceFactory
from tests.notifications.factories import make_channel, make_schedule

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def login(page, base_url, username):
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login" not in url)


@pytest.fixture
def oncall(org, team, users):
    team.time_zone = "Europe/Berlin"
    team.save(update_fields=["time_zone"])
    team.members.add(users["admin"])
    today = timezone.now().date()
    return make_schedule(
        org,
        team,
        name="Payments primary",
        layers=[
            {
                "name": "Business hours",
                "rotation": "daily",
                "start_date": today - timedelta(days=7),
                "handoff_time": time(9),
                "participants": [users["operator"], users["manager"]],
                "restrictions": [{"days": [0, 1, 2, 3, 4], "start": "08:00", "end": "20:00"}],
                "priority": 10,
            },
            {
                "name": "Nights",
                "rotation": "weekly",
                "start_date": today - timedelta(days=7),
                "handoff_time": time(20),
                "participants": [users["admin"], users["operator"]],
                "priority": 0,
            },
        ],
    )


def track_point(page, selector, fraction):
    page.locator(selector).scroll_into_view_if_needed()
    box = page.locator(selector).bounding_box()
    return box["x"] + box["width"] * fraction, box["y"] + box["height"] / 2


def test_schedule_timeline_drag_adds_an_override(
    live_server_url, browser, oncall, users, screenshot, console_errors
):
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    errors = console_errors(page)
    login(page, live_server_url, "manager")
    page.goto(f"{live_server_url}/oncall/schedules/{oncall.pk}/")

    expect(page.locator(".stl-row[data-row^='layer-']")).to_have_count(2)
    expect(page.locator(".stl-row[data-row='final'] .tl-seg").first).to_be_visible()
    expect(page.locator("#now-line")).to_be_visible()
    expect(page.locator("#oncall-now")).to_be_visible()
    expect(page.locator("#layer-summary")).to_contain_text("2 layers")
    screenshot(page, "schedule")

    # Drag across the final row, well after now (the window starts today).
    final = ".stl-row[data-row='final'] .stl-track"
    x0, y = track_point(page, final, 0.50)
    x1, _ = track_point(page, final, 0.62)
    page.mouse.move(x0, y)
    page.mouse.down()
    page.mouse.move((x0 + x1) / 2, y, steps=4)
    page.mouse.move(x1, y, steps=4)
    page.mouse.up()

    dialog = page.locator("#new-override")
    expect(dialog).to_be_visible()
    starts = dialog.locator("[name='override-starts_at']").input_value()
    ends = dialog.locator("[name='override-ends_at']").input_value()
    assert starts and ends and starts < ends
    screenshot(page, "schedule-override-dialog")
    dialog.locator("select[name='override-user']").select_option(str(users["admin"].pk))
    dialog.locator("button[type=submit]").click()
    page.wait_for_load_state()

    override = ScheduleOverride.objects.get()
    assert override.user == users["admin"]
    local = timezone.localtime(override.starts_at, oncall_zone(oncall))
    assert local.strftime("%Y-%m-%dT%H:%M") == starts
    assert timezone.localtime(override.ends_at, oncall_zone(oncall)).strftime("%Y-%m-%dT%H:%M") == ends
    block = page.locator(".stl-row[data-row='final'] .tl-seg.override")
    expect(block).to_have_count(1)
    expect(block).to_have_attribute("data-user", "admin")
    assert errors == []
    context.close()


def oncall_zone(schedule):
    return ZoneInfo(schedule.team.time_zone)


def test_schedule_on_a_phone_tap_start_and_end(live_server_url, browser, oncall, screenshot, console_errors):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    errors = console_errors(page)
    login(page, live_server_url, "manager")
    page.goto(f"{live_server_url}/oncall/schedules/{oncall.pk}/")
    expect(page.locator(".stl-row[data-row='final']")).to_be_visible()
    expect(page.locator("#now-line")).to_be_visible()
    screenshot(page, "schedule-phone")

    final = ".stl-row[data-row='final'] .stl-track"
    page.touchscreen.tap(*track_point(page, final, 0.55))
    expect(page.locator(f"{final} .stl-mark")).to_have_count(1)
    page.touchscreen.tap(*track_point(page, final, 0.70))
    dialog = page.locator("#new-override")
    expect(dialog).to_be_visible()
    assert (
        dialog.locator("[name='override-starts_at']").input_value()
        < dialog.locator("[name='override-ends_at']").input_value()
    )
    assert errors == []
    context.close()


@pytest.fixture
def delivered(org, users, team):
    """Dead letters, a retrying row and a delivered one for the deliveries page, and the ledger entries
    the audit log shows."""
    actor = Actor.for_member(users["operator"], org)
    service = ServiceFactory(organization=org, name="Payments API", slug="payments-api", owner_team=team)
    channel = make_channel(org, kind="webhook", name="Ops hook", url="https://hooks.example.com/ops").channel
    statuses = [
        NotificationStatus.DEAD,
        NotificationStatus.DEAD,
        NotificationStatus.FAILED,
        NotificationStatus.SENT,
    ]
    for n, status in enumerate(statuses):
        incident = incident_create(actor=actor, service=service, title=f"Checkout errors above {5 + n}%")
        Notification.objects.create(
            organization=org,
            incident=incident,
            channel=channel,
            idempotency_key=f"e2e-{n}",
            medium="webhook",
            destination="hooks.example.com/…",
            status=status,
            attempts=3 if status != NotificationStatus.SENT else 1,
            last_error="HTTP 503: upstream unavailable" if status != NotificationStatus.SENT else "",
        )
    return channel


def test_deliveries_bulk_resend_and_audit_log(
    live_server_url, browser, delivered, screenshot, console_errors
):
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    errors = console_errors(page)
    login(page, live_server_url, "admin")
    page.goto(f"{live_server_url}/oncall/deliveries/?status=dead")
    expect(page.locator("#deliveries tbody tr")).to_have_count(2)
    expect(page.locator("label.chip:has(input[value=dead]:checked)")).to_be_visible()
    screenshot(page, "deliveries")
    page.locator("#deliveries input[name=notification]").first.check()
    page.locator("#deliveries input[name=notification]").nth(1).check()
    page.click("#resend-selected")
    expect(page.locator(".message.success")).to_contain_text("Resent 2 dead letters")
    assert Notification.objects.filter(status=NotificationStatus.DEAD).count() == 0
    assert page.url.endswith("/oncall/deliveries/?status=dead")

    page.goto(f"{live_server_url}/audit/")
    expect(page.locator("#ledger-results tbody tr").first).to_be_visible()
    expect(page.locator("#ledger-results")).to_contain_text("Incident #")
    expect(page.locator("#export-csv")).to_be_visible()
    screenshot(page, "audit-log")
    assert errors == []
    context.close()
