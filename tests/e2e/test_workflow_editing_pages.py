"""In Chromium: a responder ticks a playbook task done on the incident page (htmx, no reload), and a
manager publishes a new version of a definition from the editor page."""

import pytest
from playwright.sync_api import expect

from incidents.services import incident_create
from opsplatform.core.actors import Actor
from tests.e2e.test_workflow_approvals import login
from tests.ledger import entries
from workflows.models import Task, TaskStatus, WorkflowDefinition
from workflows.services.definitions import latest_version
from workflows.ticks import run_playbook_tick

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_responder_ticks_a_playbook_task_on_the_incident_page(
    live_server_url, browser, org, users, screenshot, console_errors
):
    incident = incident_create(
        actor=Actor.for_member(users["operator"], org), title="Checkout down", severity="sev1"
    )
    run_playbook_tick()
    task = Task.objects.filter(run__incident=incident).order_by("id").first()

    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    watched = console_errors(page)
    login(page, live_server_url, "operator")
    page.goto(f"{live_server_url}/incidents/{incident.pk}/")
    item = page.locator(f"#incident-tasks li[data-task='{task.pk}']")
    expect(item).to_have_attribute("data-status", "open")
    page.evaluate("window.__notReloaded = true")
    item.locator("button").click()
    expect(page.locator(f"#incident-tasks li[data-task='{task.pk}']")).to_have_attribute(
        "data-status", "done"
    )
    assert page.evaluate("window.__notReloaded") is True
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE
    assert entries("task.completed", target=task).get().actor_id == str(users["operator"].pk)
    screenshot(page, "incident-workflow-card")
    assert watched == []


def test_a_manager_publishes_a_new_version_from_the_editor(
    live_server_url, browser, org, users, screenshot, console_errors
):
    definition = WorkflowDefinition.objects.get(organization=org, key="change_request")
    page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    watched = console_errors(page)
    login(page, live_server_url, "manager")
    page.goto(f"{live_server_url}/workflows/{definition.pk}/")
    page.click("#edit-definition")
    page.wait_for_url("**/edit/")
    screenshot(page, "definition-editor")

    # A broken machine first: the page says why, nothing is published.
    page.fill("#id_transitions-0-target", "NOWHERE")
    page.click("#publish")
    expect(page.locator("#spec-problems")).to_contain_text("unknown state 'NOWHERE'")
    assert latest_version(definition).number == 1

    page.fill("#id_transitions-0-target", "PENDING_APPROVAL")
    page.fill("#id_states-0-label", "Draft")
    page.click("#publish")
    page.wait_for_url(f"**/workflows/{definition.pk}/")
    expect(page.locator(".pagehead .subtitle")).to_contain_text("version 2")
    assert latest_version(definition).spec["states"][0]["label"] == "Draft"
    # The refused form answers 400 by design, which the browser logs; nothing else may show up.
    assert [e for e in watched if "status of 400" not in e] == []
