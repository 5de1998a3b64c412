"""The incident list, the incident page and the service page in a real browser, with realistic data:
several services and severities, an incident opened by an Alertmanager notification, a paging
policy with a retrying webhook. Screenshots for review, the key elements asserted visible, the
filters round-tripping through the URL (Back included), the snooze and resolve dialogs used, the
notifications card following an acknowledgement live, and no console errors on any page."""

import json
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from incidents.ingest.services import integration_create
from incidents.models import Incident, Severity, Status
from incidents.services import incident_acknowledge, incident_create, incident_resolve, incident_snooze
from notifications.delivery import run_delivery_tick
from notifications.escalation import run_escalation_tick
from notifications.models import ContactKind, ContactMethod, NotificationRule, NotificationStatus
from opsplatform.core.actors import Actor
from tests.accounts.factories import PASSWORD
from tests.incidents.factories import ServiceFactory
from tests.incidents.ingest.payloads import alertmanager, am_alert, am_url
from tests.notifications.factories import make_channel, make_policy, step
from tests.notifications.peers import http_receiver

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


def login(page, base_url, username):
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login" not in url)


def as_worker(fn, **kwargs):
    """Run a tick outside the test thread, as a Celery worker would (Playwright's event loop in
    this thread would refuse the realtime push the tick sends after commit)."""
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


@pytest.fixture
def receiver(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
    with http_receiver() as peer:
        yield peer


@pytest.fixture
def world(org, users, team, receiver):
    """Four services, incidents of every severity and state, one from Alertmanager, and paging."""
    return as_worker(_seed, org=org, users=users, team=team, receiver=receiver)


def _seed(*, org, users, team, receiver):
    operator, manager = Actor.for_member(users["operator"], org), Actor.for_member(users["manager"], org)
    payments = ServiceFactory(
        organization=org,
        name="Payments API",
        slug="payments-api",
        owner_team=team,
        tier="tier1",
        runbook_links=[
            {"title": "Payments: high error rate", "url": "https://runbooks.example.com/payments"}
        ],
    )
    search = ServiceFactory(organization=org, name="Search", slug="search", owner_team=team)
    edge = ServiceFactory(organization=org, name="Edge CDN", slug="edge-cdn", owner_team=team)
    auth = ServiceFactory(organization=org, name="Auth", slug="auth", owner_team=team)

    # Paging for payments: the operator by e-mail at once and by SMS five minutes later, and a webhook.
    person = users["operator"]
    email = ContactMethod.objects.create(
        user=person, kind=ContactKind.EMAIL, address="ops@example.test", verified_at=timezone.now()
    )
    sms = ContactMethod.objects.create(
        user=person, kind=ContactKind.SMS, address="+4915112345678", verified_at=timezone.now()
    )
    NotificationRule.objects.create(user=person, contact_method=email, delay_minutes=0)
    NotificationRule.objects.create(user=person, contact_method=sms, delay_minutes=5)
    hook = make_channel(org, kind="webhook", name="Ops webhook", url=receiver.url("/hook")).channel
    make_policy(
        org, step(("user", person), ("channel", hook), delay=15), name="Payments paging", services=[payments]
    )

    integration_key = integration_create(
        actor=Actor.system("seed", organization=org),
        name="Prometheus prod",
        kind="alertmanager",
        service=payments,
    ).key
    response = Client().post(
        am_url(integration_key),
        json.dumps(alertmanager(am_alert("c0ffee0000000001", team="payments", cluster="eu-west-1"))),
        content_type="application/json",
    )
    assert response.status_code == 202, response.content
    alerting = Incident.objects.get(service=payments)

    def make(service, title, severity, minutes_ago):
        incident = incident_create(actor=operator, service=service, title=title, severity=severity)
        Incident.objects.filter(pk=incident.pk).update(
            created_at=timezone.now() - timedelta(minutes=minutes_ago)
        )
        return incident

    slow = make(search, "Search p99 latency above 2 s", Severity.SEV2, 42)
    incident_acknowledge(actor=manager, incident=slow)
    make(edge, "Cache hit ratio dropped to 61% in FRA", Severity.SEV3, 95)
    make(auth, "Token refresh errors for mobile clients", Severity.SEV2, 7)
    noisy = make(edge, "Origin shield 502s (flapping)", Severity.SEV4, 180)
    incident_snooze(actor=operator, incident=noisy, until=timezone.now() + timedelta(hours=2))
    done = make(search, "Indexer lag after deploy", Severity.SEV3, 600)
    incident_resolve(actor=manager, incident=done, note="Rolled back 2.14.1")

    # The first page goes out: the webhook fails once and will retry, the e-mail lands.
    receiver.respond_with(502, then=200)
    now = alerting.next_escalation_at
    as_worker(run_escalation_tick, now=now)
    as_worker(run_delivery_tick, now=now)
    return {
        "alerting": alerting,
        "services": [payments, search, edge, auth],
        "resolved": done,
        "snoozed": noisy,
    }


def test_incident_pages(live_server_url, browser, world, users, screenshot, console_errors):
    alerting = world["alerting"]
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    errors = console_errors(page)
    login(page, live_server_url, "operator")

    # --- the list: open incidents by default, colour-coded, with people and times
    page.goto(f"{live_server_url}/incidents/")
    page.wait_for_function("document.body.dataset.live === 'on'")
    rows = page.locator("table.incidents tbody tr")
    expect(rows).to_have_count(5)  # six incidents, one resolved
    row = page.locator(f"#incident-{alerting.pk}")
    expect(row).to_be_visible()
    expect(row).to_have_class("row-sev1")
    expect(row.locator(".sev")).to_have_text("SEV1")
    expect(row.locator("[data-status]")).to_have_text("Triggered")
    expect(page.locator(f"#incident-{alerting.pk} a", has_text="Payments API")).to_be_visible()
    expect(page.locator("table.incidents .pill").first).to_be_visible()
    expect(page.locator(".incident-filters .chip", has_text="Triggered")).to_be_visible()
    expect(page.locator("#status-all")).to_be_visible()
    expect(page.get_by_role("button", name="New incident")).to_be_visible()
    assert page.locator("table.incidents time[data-relative]").first.inner_text() != "0 minutes ago"
    screenshot(page, "incident-list")

    # Filters go into the URL, and Back returns to what was there.
    sev3 = page.locator(".incident-filters input[name=severity][value=sev3]")
    page.locator(".incident-filters .chip", has_text="SEV3").click()
    # Only what is chosen: the ticked statuses (the empty one marks "chosen") and the severity.
    page.wait_for_url(
        lambda url: url.endswith(
            "/incidents/?status=&status=triggered&status=acknowledged&status=snoozed&severity=sev3&sort=newest"
        )
    )
    expect(rows).to_have_count(1)  # the open one
    page.locator("#status-all").click()  # every status, the severity kept
    page.wait_for_url(lambda url: url.endswith("/incidents/?status=&severity=sev3&sort=newest"))
    expect(rows).to_have_count(2)
    expect(page.locator("#status-all")).to_have_attribute("aria-pressed", "true")
    expect(sev3).to_be_checked()
    page.go_back()
    page.wait_for_url("**severity=sev3**")
    expect(rows).to_have_count(1)
    page.go_back()
    page.wait_for_url(f"{live_server_url}/incidents/")
    expect(rows).to_have_count(5)
    expect(sev3).not_to_be_checked()

    # --- the incident page
    page.goto(f"{live_server_url}/incidents/{alerting.pk}/")
    page.wait_for_function("document.body.dataset.live === 'on'")
    expect(page.locator("h1")).to_contain_text(alerting.title)
    expect(page.locator("#incident-status")).to_have_text("Triggered")
    expect(page.locator("#ack-button")).to_be_visible()
    expect(page.locator("#resolve-button")).to_be_visible()
    expect(page.locator("#snooze-button")).to_be_visible()
    expect(page.locator("#alert-source")).to_contain_text("Prometheus prod")
    expect(page.locator("#alert-links a", has_text="Source")).to_have_attribute(
        "href", "http://prometheus-0:9090/graph?g0.expr=job%3Acheckout%3Aerror_ratio5m+%3E+0.05&g0.tab=1"
    )
    expect(page.locator("#alert-details")).to_contain_text("eu-west-1")
    expect(page.locator("#runbook-links a")).to_have_text("Payments: high error rate")
    expect(page.locator("#deliveries")).to_be_visible()
    expect(page.locator("#timeline li.delivery.failed")).to_contain_text("1 attempt failed, retrying at")
    screenshot(page, "incident-detail")

    # --- the same page on a phone
    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()
    phone_errors = console_errors(phone)
    login(phone, live_server_url, "operator")
    phone.goto(f"{live_server_url}/incidents/{alerting.pk}/")
    expect(phone.locator("#ack-button")).to_be_visible()
    expect(phone.locator("#incident-status")).to_be_visible()
    expect(phone.locator("#alert-details")).to_be_visible()
    screenshot(phone, "incident-detail-phone")
    wide = phone.evaluate(
        """Array.from(document.querySelectorAll('main *'))
           .filter(e => e.getBoundingClientRect().right > 392).slice(0, 5)
           .map(e => `${e.tagName}.${e.className}#${e.id} ${Math.round(e.getBoundingClientRect().right)}`)"""
    )
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1, (
        wide
    )  # nothing sideways

    # Acknowledging takes the incident, and the card shows the pending SMS will not go out...
    page.click("#ack-button")
    expect(page.locator("#incident-status")).to_have_text("Acknowledged")
    expect(page.locator("#incident-assignees .pill.me")).to_be_visible()
    sms = page.locator("#deliveries li", has_text="SMS")
    expect(sms).to_contain_text("will not be sent")
    # ...and once the delivery tick cancels it, the card changes without a reload.
    page.evaluate("window.__notReloaded = true")
    stats = as_worker(run_delivery_tick, now=timezone.now() + timedelta(minutes=6))
    assert stats.cancelled == 1
    expect(sms).to_have_attribute("data-status", NotificationStatus.CANCELLED, timeout=10_000)
    assert page.evaluate("window.__notReloaded") is True

    # Snooze through its dialog.
    page.click("#snooze-button")
    dialog = page.locator("#snooze-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_text("4 hours", exact=True).click()
    dialog.get_by_role("button", name="Snooze", exact=True).click()
    expect(page.locator("#incident-status")).to_have_text("Snoozed")
    alerting.refresh_from_db()
    assert alerting.status == Status.SNOOZED
    assert timedelta(hours=3, minutes=58) < alerting.snoozed_until - timezone.now() <= timedelta(hours=4)

    # Resolve through its dialog, with a note.
    page.click("#resolve-button")
    resolve = page.locator("#resolve-dialog")
    expect(resolve).to_be_visible()
    resolve.locator("textarea").fill("Rolled back the checkout deploy; error rate back under 0.1%.")
    resolve.get_by_role("button", name="Resolve incident").click()
    expect(page.locator("#incident-status")).to_have_text("Resolved")
    expect(page.locator(".callout", has_text="Rolled back the checkout deploy")).to_be_visible()
    alerting.refresh_from_db()
    assert alerting.status == Status.RESOLVED and alerting.resolution_note.startswith("Rolled back")

    # --- the service page: tabs, who is on call, the policy
    payments = world["services"][0]
    page.goto(f"{live_server_url}/services/{payments.pk}/")
    expect(page.locator("nav.tabs a[aria-current]")).to_have_text("Overview")
    expect(page.locator("#service-oncall")).to_contain_text(users["operator"].username)
    expect(page.locator("#service-policy")).to_have_text("Payments paging")
    screenshot(page, "service-overview")
    page.locator("nav.tabs a", has_text="Incidents").click()
    expect(page.locator(f"#incident-{alerting.pk}")).to_be_visible()
    page.goto(f"{live_server_url}/services/")
    expect(page.locator("table a", has_text="Edge CDN")).to_be_visible()

    assert errors == []
    assert phone_errors == []
