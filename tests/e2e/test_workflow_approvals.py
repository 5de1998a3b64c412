"""A requester opens a change request; two approvers approve from /approvals/ in their own browsers;
the requester's run page moves to APPROVED live, and never offered the requester an approve button."""

import pytest
from playwright.sync_api import expect

from opsplatform.core.capabilities import Role
from tests.accounts.factories import PASSWORD, MembershipFactory
from workflows.models import WorkflowDefinition, WorkflowRun

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def login(page, base_url, username):
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login" not in url)


def test_two_approvers_approve_and_the_requester_sees_it_live(
    live_server_url, browser, org, users, screenshot, console_errors
):
    MembershipFactory(organization=org, role=Role.MANAGER, user__username="manager2")
    definition = WorkflowDefinition.objects.get(organization=org, key="change_request")
    requester = browser.new_context().new_page()
    watched = console_errors(requester)
    login(requester, live_server_url, "operator")

    # Open a change request from the definition page.
    requester.goto(f"{live_server_url}/workflows/{definition.pk}/")
    requester.click("button[data-dialog=new-run]")
    requester.fill("#id_title", "Upgrade PostgreSQL to 16")
    requester.fill("#id_field_plan", "Replica, switch over, watch")
    requester.fill("#id_field_rollback_plan", "Switch back to the old primary")
    requester.click("#start-run")
    requester.wait_for_url("**/workflows/runs/*/")
    run = WorkflowRun.objects.get(title="Upgrade PostgreSQL to 16")
    requester.click("#event-submit")
    expect(requester.locator("#run-state")).to_have_attribute("data-state", "PENDING_APPROVAL")
    expect(requester.locator("#approve-button")).to_have_count(0)
    requester.wait_for_function("document.body.dataset.live === 'on'")
    requester.evaluate("window.__notReloaded = true")

    for username in ("manager", "manager2"):
        approver = browser.new_context().new_page()
        login(approver, live_server_url, username)
        approver.goto(f"{live_server_url}/approvals/")
        button = approver.locator(f"[data-approve='{run.pk}']")
        expect(button).to_have_count(1)
        if username == "manager":
            screenshot(approver, "approvals")
        button.click()
        approver.wait_for_url("**/approvals/")
        expect(approver.locator(f"[data-approve='{run.pk}']")).to_have_count(0)

    expect(requester.locator("#run-state")).to_have_attribute("data-state", "APPROVED", timeout=3000)
    assert requester.evaluate("window.__notReloaded") is True
    expect(requester.locator("#approve-button")).to_have_count(0)
    expect(requester.locator("#approval-count")).to_have_text("2 of 2 approvals")
    screenshot(requester, "workflow-run")
    run.refresh_from_db()
    assert run.state == "APPROVED"
    assert watched == []
