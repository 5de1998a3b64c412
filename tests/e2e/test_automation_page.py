"""/automation/ in Chromium: a manager creates a rule with the conditions editor (no JSON for the
conditions), an incident fires it, its execution shows on the rule page, and the backtest counts
what it would have done over past events, changing nothing."""

import pytest
from playwright.sync_api import expect

from incidents.services import incident_create
from opsplatform.core.actors import Actor
from tests.e2e.test_workflow_approvals import login
from workflows.automation.models import AutomationExecution, AutomationRule
from workflows.automation.tick import run_automation_tick

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_create_a_rule_see_its_execution_and_backtest_it(
    live_server_url, browser, org, users, screenshot, console_errors
):
    operator = Actor.for_member(users["operator"], org)
    incident_create(actor=operator, title="Checkout down (last week)", severity="sev1")
    incident_create(actor=operator, title="Slow report", severity="sev3")

    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    watched = console_errors(page)
    login(page, live_server_url, "manager")
    page.goto(f"{live_server_url}/automation/")
    page.get_by_role("link", name="New rule").first.click()
    page.wait_for_url("**/automation/new/")
    page.fill("#id_name", "Raise priority of SEV1")
    page.select_option("#id_trigger", "incident.triggered")
    page.select_option("#id_matchers-0-field", "severity")
    page.select_option("#id_matchers-0-op", "equals")
    page.fill("#id_matchers-0-value", "sev1")
    # A second group added in the page: any of "not a test incident" holds.
    page.click("#add-matcher")
    page.click("#add-matcher")
    page.select_option("#id_matchers-3-group", "2")
    page.select_option("#id_matchers-3-field", "title")
    page.select_option("#id_matchers-3-op", "regex")
    page.fill("#id_matchers-3-value", "(?i)test")
    page.check("#id_matchers-3-negate")
    page.fill("#id_actions", '[{"type": "set_priority", "priority": "p1"}]')
    screenshot(page, "automation-new-rule")
    page.click("#rule-form button:not([type=button])")
    page.wait_for_url("**/automation/*/")
    rule = AutomationRule.objects.get(name="Raise priority of SEV1")
    assert rule.conditions["groups"] == [
        {"match": "all", "matchers": [{"field": "severity", "op": "equals", "value": "sev1"}]},
        {
            "match": "all",
            "matchers": [{"field": "title", "op": "regex", "value": "(?i)test", "negate": True}],
        },
    ]

    # An incident after the rule: the automation tick (consume, then run) fires it once.
    fired = incident_create(actor=operator, title="Payments failing", severity="sev1")
    incident_create(actor=operator, title="Disk at 80%", severity="sev3")
    run_automation_tick()
    run_automation_tick()
    execution = AutomationExecution.objects.get(rule=rule)
    assert execution.incident_id == fired.pk and execution.state == "succeeded"
    fired.refresh_from_db()
    assert fired.priority == "p1"

    page.reload()
    row = page.locator(f"#execution-list tr[data-execution='{execution.pk}']")
    expect(row).to_contain_text("Payments failing")
    expect(row).to_contain_text("set_priority")

    page.fill("#id_days", "7")
    page.click("#backtest button")
    stats = page.locator("#backtest .stat-value")
    expect(stats.first).to_have_text("2")  # both SEV1 incidents, before and after the rule
    expect(page.locator("#backtest-samples")).to_contain_text("Checkout down (last week)")
    assert AutomationExecution.objects.filter(rule=rule).count() == 1  # the backtest ran nothing
    screenshot(page, "automation-rule")
    assert watched == []
