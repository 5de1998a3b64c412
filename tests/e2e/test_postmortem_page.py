"""A responder opens the postmortem drafted from an incident, edits a section, reads the timeline."""

import pytest
from playwright.sync_api import expect

from incidents import services as incident_services
from knowledge.postmortems.services import postmortem_draft
from opsplatform.core.actors import Actor
from tests.e2e.test_incident_live import login

pytestmark = pytest.mark.django_db(transaction=True)


def test_draft_edit_and_read_a_postmortem(live_server_url, browser, org, users, screenshot, console_errors):
    operator = Actor.for_member(users["operator"], org)
    service = incident_services.service_create(
        actor=Actor.for_member(users["manager"], org), name="Checkout API"
    )
    incident = incident_services.incident_create(actor=operator, title="Checkout errors", service=service)
    incident_services.incident_acknowledge(actor=operator, incident=incident)
    incident_services.incident_add_note(actor=operator, incident=incident, body="Pool exhausted")
    incident = incident_services.incident_resolve(actor=operator, incident=incident, note="Rolled back")
    page = browser.new_page()
    errors = console_errors(page)
    login(page, live_server_url, "operator")
    page.goto(f"{live_server_url}/postmortems/")
    expect(page.get_by_text("No postmortems yet")).to_be_visible()
    # The incident page's "Draft postmortem" button posts here (the button itself belongs to that page).
    postmortem, _ = postmortem_draft(actor=operator, incident=incident)
    page.goto(f"{live_server_url}/postmortems/{postmortem.pk}/")
    expect(page.get_by_role("heading", name="Postmortem: Checkout errors")).to_be_visible()
    expect(page.get_by_text("Pool exhausted")).to_be_visible()
    page.get_by_role("button", name="Edit", exact=True).click()
    page.fill("textarea[name=root_cause]", "The pool was **too small**.")
    page.get_by_role("button", name="Save revision").click()
    expect(page.locator("strong", has_text="too small")).to_be_visible()
    screenshot(page, "postmortem-page")
    assert errors == []
