"""Paging in a real browser: build a schedule with an override on its page, read the on-call
timeline, create an escalation policy, trigger an incident, and watch the notification attempts
arrive on the incident's timeline live while the escalation and delivery ticks run."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone
from playwright.sync_api import expect

from incidents.services import incident_create
from notifications.delivery import run_delivery_tick
from notifications.escalation import run_escalation_tick
from opsplatform.core.actors import Actor
from tests.accounts.factories import PASSWORD
from tests.incidents.factories import ServiceFactory
from tests.notifications.peers import http_receiver, verify_signature

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def login(page, base_url, username):
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login" not in url)


def as_worker(fn, **kwargs):
    """Run a tick the way a Celery worker would: outside this thread.

    Playwright's sync API keeps an event loop running in the test thread, and the realtime push a
    tick sends after commit (``async_to_sync``) refuses to run inside one.
    """
    result = {}

    def run():
        try:
            result["value"] = fn(**kwargs)
        except BaseException as exc:
            result["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    if "error" in result:
        raise result["error"]
    return result["value"]


def local_input(instant) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M")  # the team's zone is UTC


def test_schedule_override_policy_and_live_delivery(live_server_url, browser, org, users, team):
    service = ServiceFactory(organization=org, name="Payments API", slug="payments-api", owner_team=team)
    team.members.add(users["admin"])  # the admin takes an override: only team members take shifts
    page = browser.new_context().new_page()
    login(page, live_server_url, "admin")

    with http_receiver() as receiver, override_settings(OUTBOUND_ALLOWED_NETWORKS=["127.0.0.0/8"]):
        # A schedule with one daily layer, from its pages.
        page.goto(f"{live_server_url}/oncall/")
        page.click("[data-dialog=new-schedule]")  # create forms open in dialogs
        page.fill("#schedule-form input[name=name]", "Payments primary")
        page.select_option("#schedule-form select[name=team]", str(team.pk))
        page.click("#schedule-form button[type=submit]")
        page.click("#add-layer")
        page.fill("#layer-form input[name=participants]", "operator, manager")
        page.select_option("#layer-form select[name=rotation]", "daily")
        page.fill(
            "#layer-form input[name=start_date]", (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%d")
        )
        page.fill("#layer-form input[name=handoff_time]", "00:00")
        page.click("#layer-form button[type=submit]")
        expect(page.locator("#layers")).to_contain_text("operator → manager")
        # One row for the layer above the final schedule.
        expect(page.locator("#oncall-timeline .stl-row[data-layer]")).to_have_count(1)
        expect(page.locator("#oncall-timeline [data-row=final]")).to_be_visible()

        # The admin covers the next three hours; the timeline and "on call now" show it.
        now = timezone.now()
        page.click("#new-override-button")
        page.select_option("#override-form select[name=override-user]", label="admin")
        page.fill("#override-form input[name=override-starts_at]", local_input(now - timedelta(minutes=5)))
        page.fill("#override-form input[name=override-ends_at]", local_input(now + timedelta(hours=3)))
        page.fill("#override-form input[name=override-note]", "covering")
        page.click("#override-form button[type=submit]")
        expect(page.locator("#oncall-now")).to_have_text("admin")
        expect(page.locator("#oncall-timeline [data-source=override][data-user=admin]").first).to_be_visible()
        expect(page.locator("#overrides")).to_contain_text("covering")

        # A signed webhook channel; its secret is shown once.
        page.goto(f"{live_server_url}/oncall/channels/")
        page.click("[data-dialog=new-channel]")
        page.fill("#channel-form input[name=name]", "Ops webhook")
        page.select_option("#channel-form select[name=kind]", "webhook")
        page.fill("#channel-form input[name=url]", receiver.url("/opsplatform"))
        page.click("#channel-form button[type=submit]")
        secret = page.locator("#signing-secret").inner_text().strip()
        assert secret.startswith("whsec_")

        # An escalation policy: whoever is on call, and the webhook; used by the service.
        page.goto(f"{live_server_url}/oncall/policies/")
        page.click("[data-dialog=new-policy]")
        page.fill("#policy-form input[name=name]", "Payments paging")
        page.click("#policy-form button[type=submit]")
        page.click("[data-dialog=new-step]")
        page.select_option("#step-form select[name=schedules]", label="Payments primary")
        page.select_option("#step-form select[name=channels]", label="Ops webhook (Outbound webhook)")
        page.fill("#step-form input[name=delay_minutes]", "10")
        page.click("#step-form button[type=submit]")
        expect(page.locator("#steps")).to_contain_text("on call in Payments primary")
        page.click("[data-dialog=attach-policy]")
        page.check(f"#attach-form input[name=services][value='{service.pk}']")
        page.click("#attach-form button[type=submit]")
        expect(page.locator("#attached-services")).to_have_text("Payments API")

        # An incident; its page is open while the ticks run.
        incident = incident_create(
            actor=Actor.for_member(users["operator"], org), service=service, title="Card payments failing"
        )
        page.goto(f"{live_server_url}/incidents/{incident.pk}/")
        page.wait_for_function("document.body.dataset.live === 'on'")
        page.evaluate("window.__notReloaded = true")
        timeline = page.locator("#timeline")
        expect(timeline.locator("li[data-verb='notification.sent']")).to_have_count(0)

        receiver.respond_with(500, then=200)  # the first attempt fails, the retry lands
        assert as_worker(run_escalation_tick).steps == 1
        expect(timeline.locator("li[data-verb='escalation.step_executed']")).to_have_count(1, timeout=5000)
        stats = as_worker(run_delivery_tick)
        assert (
            stats.failed == 1 and stats.sent == 1
        )  # the admin's e-mail (locmem) and the webhook's first try
        expect(timeline.locator("li[data-verb='notification.failed']")).to_have_count(1, timeout=5000)
        expect(page.locator("#deliveries li[data-status=failed]")).to_contain_text("HTTP 500")

        as_worker(run_delivery_tick, now=timezone.now() + timedelta(hours=1))
        expect(timeline.locator("li[data-verb='notification.sent']")).to_have_count(2, timeout=5000)
        expect(page.locator("#deliveries [data-attempt='2']")).to_contain_text("Delivered · 200")
        assert page.evaluate("window.__notReloaded") is True

        # The receiver verified what it got, like a real one would.
        request = receiver.requests[-1]
        assert verify_signature(secret, request.headers, request.body)
        assert request.json()["incident"]["id"] == incident.pk
