"""The installable web app in Chromium: the manifest is valid and its icons load, the service worker
registers for the whole site, and an incident already opened can be read again offline."""

import json

import pytest
from playwright.sync_api import expect

from incidents.services import incident_create
from opsplatform.core.actors import Actor
from tests.accounts.factories import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def sign_in(page, base, user):
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")


def test_manifest_is_valid_and_the_service_worker_controls_the_site(
    live_server_url, browser, users, console_errors
):
    context = browser.new_context()
    page = context.new_page()
    errors = console_errors(page)
    sign_in(page, live_server_url, users["operator"])

    href = page.locator("link[rel=manifest]").get_attribute("href")
    response = page.request.get(f"{live_server_url}{href}")
    assert response.status == 200 and response.headers["content-type"].startswith("application/manifest+json")
    manifest = json.loads(response.text())
    assert manifest["display"] == "standalone" and manifest["start_url"] == "/" and manifest["name"]
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        loaded = page.evaluate(
            """src => new Promise(done => { const i = new Image();
                 i.onload = () => done([i.naturalWidth, i.naturalHeight]);
                 i.onerror = () => done(null); i.src = src; })""",
            icon["src"],
        )
        assert loaded == [int(n) for n in icon["sizes"].split("x")]

    registration = page.evaluate(
        """() => navigator.serviceWorker.ready.then(r => ({scope: r.scope, script: r.active.scriptURL}))"""
    )
    assert registration == {"scope": f"{live_server_url}/", "script": f"{live_server_url}/sw.js"}
    page.reload()
    assert page.evaluate("() => Boolean(navigator.serviceWorker.controller)") is True
    assert errors == []
    context.close()


def test_an_incident_already_opened_can_be_read_offline(live_server_url, browser, org, users):
    actor = Actor.for_member(users["operator"], org)
    seen = incident_create(actor=actor, title="Checkout latency above 2 s")
    unseen = incident_create(actor=actor, title="Never opened on this phone", dedup_key="other")
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, live_server_url, users["operator"])
    page.evaluate("() => navigator.serviceWorker.ready")
    page.reload()  # the worker now controls the page, and will see the next navigations
    page.goto(f"{live_server_url}/incidents/{seen.pk}/")
    expect(page.get_by_role("heading", name="Checkout latency above 2 s")).to_be_visible()

    context.set_offline(True)
    page.goto(f"{live_server_url}/incidents/{seen.pk}/")
    expect(page.get_by_role("heading", name="Checkout latency above 2 s")).to_be_visible()
    page.goto(f"{live_server_url}/incidents/{unseen.pk}/")
    expect(page.locator("h1")).to_have_text("You are offline")
    context.close()
