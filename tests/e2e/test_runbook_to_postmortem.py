"""A responder sees the incident's runbook, ticks two steps, resolves, drafts the postmortem and
finds the ticks on its timeline; and two people editing one article: the second sees, live over the
real websocket, that the first saved."""

import pytest
from playwright.sync_api import expect

from incidents import services as incident_services
from knowledge.models import RunbookStepCheck
from knowledge.postmortems.models import Postmortem
from knowledge.services.articles import article_create
from opsplatform.core.actors import Actor
from tests.e2e.test_incident_live import login

pytestmark = pytest.mark.django_db(transaction=True)

STEPS = "Before anything:\n\n- [ ] Check replica lag\n- [ ] Promote the replica\n- [ ] Repoint the pooler\n"


def test_runbook_ticks_reach_the_postmortem_timeline(
    live_server_url, browser, org, users, screenshot, console_errors
):
    manager = Actor.for_member(users["manager"], org)
    operator = Actor.for_member(users["operator"], org)
    service = incident_services.service_create(actor=manager, name="Checkout DB")
    runbook = article_create(
        actor=operator, title="Checkout DB failover", body=STEPS, runbook_for={"services": [service.pk]}
    )
    incident = incident_services.incident_create(actor=operator, title="Checkout DB down", service=service)
    page = browser.new_page()
    errors = console_errors(page)
    login(page, live_server_url, "operator")
    page.goto(f"{live_server_url}/incidents/{incident.pk}/")
    panel = page.locator("#incident-runbooks")
    expect(panel.get_by_role("link", name="Checkout DB failover")).to_be_visible()
    panel.get_by_role("button", name="Tick step 1").click()
    expect(panel.get_by_text("☑")).to_have_count(1)
    panel.get_by_role("button", name="Tick step 2").click()
    expect(panel.get_by_text("☑")).to_have_count(2)
    assert sorted(RunbookStepCheck.objects.filter(incident=incident).values_list("step", flat=True)) == [0, 1]
    page.reload()
    expect(page.get_by_text("ticked a runbook step").first).to_be_visible()
    screenshot(page, "incident-runbook-ticked")
    page.locator("#resolve-button").click()
    page.fill("#resolve-note", "Promoted the replica")
    page.get_by_role("button", name="Resolve incident").click()
    page.locator("#postmortem-button").click()
    page.wait_for_url(lambda url: "/postmortems/" in url)
    postmortem = Postmortem.objects.get(incident=incident)
    ticks = list(postmortem.timeline.filter(verb="incident.runbook_step_checked").order_by("sequence"))
    assert [row.text for row in ticks] == [
        "Ticked runbook step 1 of Checkout DB failover: Check replica lag",
        "Ticked runbook step 2 of Checkout DB failover: Promote the replica",
    ]
    body = page.locator("body")
    expect(body).to_contain_text("Ticked runbook step 1 of Checkout DB failover: Check replica lag")
    expect(body).to_contain_text("Ticked runbook step 2 of Checkout DB failover: Promote the replica")
    screenshot(page, "postmortem-with-runbook-ticks")
    assert runbook.pk and errors == []


def test_someone_else_saving_shows_a_banner_live(live_server_url, browser, org, users, screenshot):
    article = article_create(
        actor=Actor.for_member(users["operator"], org), title="Rotate the TLS certificate", body="Steps."
    )
    first = browser.new_context().new_page()
    second = browser.new_context().new_page()
    login(first, live_server_url, "operator")
    login(second, live_server_url, "manager")
    for page in (first, second):
        page.goto(f"{live_server_url}/knowledge/articles/{article.pk}/edit/")
        expect(page.locator("textarea[name=body]")).to_be_visible()
    # Let the second page's websocket connect before the first one saves.
    second.wait_for_function("document.body.dataset.live === 'on'")
    first.fill("textarea[name=body]", "Steps, now with the renewal command.")
    first.get_by_role("button", name="Save").click()
    first.wait_for_url(f"{live_server_url}/knowledge/articles/{article.pk}/")
    banner = second.locator("[data-live=article] .banner")
    expect(banner).to_contain_text("operator saved revision 2 while you were editing", timeout=15_000)
    screenshot(second, "article-edit-someone-else-saved")
    # And the second save is refused as a conflict, not a silent overwrite.
    second.fill("textarea[name=body]", "My older edit")
    second.get_by_role("button", name="Save").click()
    expect(second.locator("body")).to_contain_text("revision")
    article.refresh_from_db()
    assert article.body == "Steps, now with the renewal command." and article.current_revision.number == 2


def test_runbook_page_shows_effectiveness_and_stale_flag(live_server_url, browser, org, users, screenshot):
    from datetime import timedelta

    from django.utils import timezone

    from knowledge.models import Article

    operator = Actor.for_member(users["operator"], org)
    service = incident_services.service_create(
        actor=Actor.for_member(users["manager"], org), name="Search API"
    )
    runbook = article_create(
        actor=operator, title="Search index rebuild", body=STEPS, runbook_for={"services": [service.pk]}
    )
    Article.objects.filter(pk=runbook.pk).update(updated_at=timezone.now() - timedelta(days=120))
    page = browser.new_page()
    login(page, live_server_url, "operator")
    page.goto(f"{live_server_url}/knowledge/?kind=stale")
    expect(page.get_by_role("link", name="Search index rebuild")).to_be_visible()
    page.get_by_role("link", name="Search index rebuild").click()
    expect(page.get_by_text("Stale runbook:")).to_be_visible()
    expect(page.get_by_role("heading", name="Effectiveness")).to_be_visible()
    screenshot(page, "runbook-stale-effectiveness")
    page.get_by_role("button", name="Mark reviewed").first.click()
    expect(page.get_by_text("Stale runbook:")).to_have_count(0)
