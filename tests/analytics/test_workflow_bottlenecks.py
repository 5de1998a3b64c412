"""Approval waits and the task backlog in the Bottlenecks section, on a fixed data set computed by
hand. Organization time zone UTC; range 2026-03-02 .. 2026-03-03; "now" is 2026-03-05 12:00Z.

Approval requests (change requests the operator submits; requests and decisions made through the
workflows services, their instants then set to the table's):

====  ========  ============  ==============  ========  =========
id    team      requested     closed          verdict   wait (s)
====  ========  ============  ==============  ========  =========
A1    Payments  03-02 09:00   03-02 10:00     approved  3,600
A2    Payments  03-02 12:00   03-03 00:00     rejected  43,200
A3    —         03-03 08:00   03-03 08:10     approved  600
A4    —         03-01 20:00   03-02 04:00     approved  28,800   (asked before the range: counts)
A5    Payments  03-03 20:00   03-04 02:00     approved  (decided after the range)
A6    Payments  03-04 12:00   pending                   waiting 86,400
A7    —         03-05 06:00   pending                   waiting 21,600
A8    Payments  03-02 13:00   03-02 14:00     withdrawn (never decided: not counted)
====  ========  ============  ==============  ========  =========

All: waits 600, 3600, 28800, 43200: mean 19,050; p50 (interpolated) 3600 + .5·25200 = 16,200;
p95 = 28800 + .85·14400 = 41,040. Payments: 3600, 43200: mean 23,400; p50 23,400;
p95 = 3600 + .95·39600 = 41,220.

Tasks (team: the run's, else the incident's):

====  =====================  ============  ====================  =========
id    belongs to             created       status                done (s)
====  =====================  ============  ====================  =========
T1    A1's run (Payments)    03-02 08:00   done 03-02 09:00      3,600
T2    incident (Payments)    03-02 10:00   done 03-03 10:00      86,400
T3    —                      03-01 00:00   done 03-02 00:00      86,400 (created before the range)
T4    A1's run (Payments)    03-03 12:00   open, due 03-04 00:00 overdue
T5    —                      03-03 13:00   in progress, due 03-06
T6    incident (Payments)    03-02 15:00   cancelled
T7    —                      03-04 09:00   open
T8    —                      03-02 11:00   done 03-04 (after the range)
====  =====================  ============  ====================  =========

All: open 3 (T4, T5, T7), overdue 1, created 6, completed 3, mean (3600+86400+86400)/3 = 58,800.
Payments: open 1, overdue 1, created 4 (T1, T2, T4, T6), completed 2, mean 45,000.
"""

import csv
import io
from datetime import UTC, datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.incidents.factories import IncidentFactory, ServiceFactory
from tests.workflows.conftest import READY, change_request, second_manager  # noqa: F401 (fixtures)
from workflows.models import ApprovalRequest, Task, TaskStatus
from workflows.services.approvals import decide
from workflows.services.runs import run_create, transition
from workflows.services.task_items import task_create, task_update

pytestmark = pytest.mark.django_db

RANGE = {"from": "2026-03-02", "to": "2026-03-03"}
API = "/api/v1/analytics/incidents/"
NOW = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)

ALL_APPROVALS = {
    "decided": 4,
    "approved": 3,
    "rejected": 1,
    "mean_wait_seconds": 19050.0,
    "p50_wait_seconds": 16200.0,
    "p95_wait_seconds": 41040.0,
    "waiting_now": 2,
    "oldest_waiting_seconds": 86400,
}
PAYMENTS_APPROVALS = {
    "decided": 2,
    "approved": 1,
    "rejected": 1,
    "mean_wait_seconds": 23400.0,
    "p50_wait_seconds": 23400.0,
    "p95_wait_seconds": 41220.0,
    "waiting_now": 1,
    "oldest_waiting_seconds": 86400,
}
ALL_TASKS = {
    "open_now": 3,
    "overdue_now": 1,
    "created": 6,
    "completed": 3,
    "mean_time_to_complete_seconds": 58800.0,
}
PAYMENTS_TASKS = {
    "open_now": 1,
    "overdue_now": 1,
    "created": 4,
    "completed": 2,
    "mean_time_to_complete_seconds": 45000.0,
}


def at(day: str, clock: str) -> datetime:
    return datetime.fromisoformat(f"2026-{day}T{clock}").replace(tzinfo=UTC)


@pytest.fixture
def flows(org, team, users, actor_as, change_request, second_manager):  # noqa: F811
    operator = actor_as("operator")

    def approval(team_, requested, closed=None, verdict=None):
        run = run_create(
            actor=operator, definition=change_request, title="Change", fields=dict(READY), team=team_
        )
        run = transition(actor=operator, run=run, event="submit")
        request = ApprovalRequest.objects.get(run=run)
        if verdict == "approve":
            decide(actor=actor_as("manager"), approval=request, verdict="approve")
            decide(actor=actor_as("admin"), approval=request, verdict="approve")
        elif verdict == "reject":
            decide(actor=actor_as("manager"), approval=request, verdict="reject")
        elif verdict == "withdraw":
            transition(actor=operator, run=run, event="withdraw")
        ApprovalRequest.objects.filter(pk=request.pk).update(created_at=requested, decided_at=closed)
        request.refresh_from_db()
        assert (
            request.status
            == {
                None: "pending",
                "approve": "approved",
                "reject": "rejected",
                "withdraw": "cancelled",
            }[verdict]
        )
        return run

    a1 = approval(team, at("03-02", "09:00"), at("03-02", "10:00"), "approve")
    approval(team, at("03-02", "12:00"), at("03-03", "00:00"), "reject")
    approval(None, at("03-03", "08:00"), at("03-03", "08:10"), "approve")
    approval(None, at("03-01", "20:00"), at("03-02", "04:00"), "approve")
    approval(team, at("03-03", "20:00"), at("03-04", "02:00"), "approve")
    approval(team, at("03-04", "12:00"))
    approval(None, at("03-05", "06:00"))
    approval(team, at("03-02", "13:00"), at("03-02", "14:00"), "withdraw")

    incident = IncidentFactory(organization=org, team=team)

    def task(created, status=TaskStatus.OPEN, completed=None, due=None, **links):
        made = task_create(actor=operator, title="Follow up", due_at=due, **links)
        if status != TaskStatus.OPEN:
            task_update(actor=operator, task=made, status=status)
        Task.objects.filter(pk=made.pk).update(created_at=created, completed_at=completed)
        return made

    task(at("03-02", "08:00"), TaskStatus.DONE, at("03-02", "09:00"), run=a1)
    task(at("03-02", "10:00"), TaskStatus.DONE, at("03-03", "10:00"), incident=incident)
    task(at("03-01", "00:00"), TaskStatus.DONE, at("03-02", "00:00"))
    task(at("03-03", "12:00"), due=at("03-04", "00:00"), run=a1)
    task(at("03-03", "13:00"), TaskStatus.IN_PROGRESS, due=at("03-06", "00:00"))
    task(at("03-02", "15:00"), TaskStatus.CANCELLED, incident=incident)
    task(at("03-04", "09:00"))
    task(at("03-02", "11:00"), TaskStatus.DONE, at("03-04", "00:00"))
    return {"incident": incident}


@pytest.fixture
def frozen(monkeypatch, flows):
    """The clock stops at NOW once the data exists, so the live figures are fixed."""
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    return flows


@pytest.mark.parametrize(
    "query, approvals, tasks",
    [
        ({}, ALL_APPROVALS, ALL_TASKS),
        ({"team": "payments"}, PAYMENTS_APPROVALS, PAYMENTS_TASKS),
    ],
)
def test_api_and_page_show_the_hand_computed_figures(api_as, client_as, frozen, query, approvals, tasks):
    query = {**RANGE, **query}
    response = api_as("manager").get(API, query)
    assert response.status_code == 200, response.content
    api = response.json()["workflows"]
    page = client_as("manager").get(reverse("analytics:index"), query)

    assert page.status_code == 200
    assert api == {"approvals": approvals, "tasks": tasks}
    assert page.context["report"]["workflows"] == api
    tables = page.context["tables"]
    assert list(tables["approval_wait"]["page"].object_list) == [approvals]
    assert list(tables["task_backlog"]["page"].object_list) == [tasks]
    html = page.content.decode()
    assert 'id="approval_wait-title">Approval wait<' in html
    assert 'id="task_backlog-title">Task backlog<' in html


def test_a_service_nothing_belongs_to_has_no_workflow_figures(api_as, org, frozen):
    ServiceFactory(organization=org, name="Quiet", slug="quiet")
    body = api_as("manager").get(API, {**RANGE, "service": "quiet"}).json()["workflows"]

    assert body["approvals"]["decided"] == body["approvals"]["waiting_now"] == 0
    assert body["approvals"]["mean_wait_seconds"] is None
    assert body["approvals"]["oldest_waiting_seconds"] is None
    assert body["tasks"] == {
        "open_now": 0,
        "overdue_now": 0,
        "created": 0,
        "completed": 0,
        "mean_time_to_complete_seconds": None,
    }


def test_csv_exports_write_the_raw_numbers(client_as, frozen):
    browser = client_as("manager")
    approvals = browser.get(reverse("analytics:export", args=["approval_wait"]), RANGE)
    tasks = browser.get(reverse("analytics:export", args=["task_backlog"]), {**RANGE, "team": "payments"})

    assert approvals.status_code == tasks.status_code == 200
    assert list(csv.reader(io.StringIO(approvals.content.decode()))) == [
        [
            "Decided in range",
            "Approved",
            "Rejected",
            "Mean wait",
            "Median (p50)",
            "p95",
            "Waiting now",
            "Oldest waiting",
        ],
        ["4", "3", "1", "19050.0", "16200.0", "41040.0", "2", "86400"],
    ]
    assert list(csv.reader(io.StringIO(tasks.content.decode()))) == [
        ["Open now", "Overdue now", "Created in range", "Completed in range", "Mean time to complete"],
        ["1", "1", "4", "2", "45000.0"],
    ]


def test_the_schema_documents_the_workflow_figures(api_as):
    schema = api_as("manager").get("/api/v1/schema/", {"format": "json"}).json()

    components = schema["components"]["schemas"]
    assert "workflows" in components["IncidentAnalytics"]["required"]
    assert set(components["ApprovalWait"]["properties"]) == set(ALL_APPROVALS)
    assert set(components["TaskBacklog"]["properties"]) == set(ALL_TASKS)
