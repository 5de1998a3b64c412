"""The workflow pages: who sees which actions, viewers refused, outsiders not found, signed links."""

import pytest

from tests.ledger import verbs
from workflows.links import approval_token
from workflows.models import ApprovalRequest, Notice, NoticeKind, WorkflowRun
from workflows.services.task_items import task_create

pytestmark = pytest.mark.django_db


def test_board_and_definition_pages_render(client_as, change_request, pending_change):
    client = client_as("viewer")

    board = client.get(f"/workflows/?workflow={change_request.pk}")
    definition = client.get(f"/workflows/{change_request.pk}/")

    assert board.status_code == 200
    assert f"#{pending_change.pk} {pending_change.title}" in board.content.decode()
    assert definition.status_code == 200
    svg = definition.content.decode()
    assert "<svg" in svg and 'data-state="PENDING_APPROVAL"' in svg


def test_the_requester_has_no_approve_button_but_an_approver_does(client_as, pending_change):
    own = client_as("operator").get(f"/workflows/runs/{pending_change.pk}/").content.decode()
    assert 'id="approve-button"' not in own
    assert "others approve it" in own

    approver = client_as("manager").get(f"/workflows/runs/{pending_change.pk}/").content.decode()
    assert 'id="approve-button"' in approver


def test_approving_from_the_page(client_as, pending_change, users):
    response = client_as("manager").post(
        f"/workflows/runs/{pending_change.pk}/decide/",
        {"verdict": "approve", "comment": "ok", "next": "approvals"},
    )

    assert response.status_code == 302 and response["Location"] == "/approvals/"
    assert ApprovalRequest.objects.get(run=pending_change).received == 1


def test_requester_posting_a_decision_changes_nothing(client_as, pending_change):
    client_as("operator").post(f"/workflows/runs/{pending_change.pk}/decide/", {"verdict": "approve"})

    assert ApprovalRequest.objects.get(run=pending_change).received == 0


def test_viewer_cannot_act_on_pages(client_as, pending_change):
    client = client_as("viewer")

    assert client.post(f"/workflows/runs/{pending_change.pk}/event/", {"event": "cancel"}).status_code == 403
    assert (
        client.post(f"/workflows/runs/{pending_change.pk}/decide/", {"verdict": "approve"}).status_code == 403
    )
    assert client.post("/tasks/", {"title": "x"}).status_code == 403
    assert WorkflowRun.objects.get(pk=pending_change.pk).state == "PENDING_APPROVAL"


def test_outsider_gets_404_on_pages(client_as, pending_change, change_request):
    client = client_as("outsider")

    assert client.get(f"/workflows/runs/{pending_change.pk}/").status_code == 404
    assert client.get(f"/workflows/{change_request.pk}/").status_code == 404
    assert client.post(f"/workflows/runs/{pending_change.pk}/event/", {"event": "cancel"}).status_code == 404


def test_sending_an_event_from_the_page(client_as, new_change):
    run = new_change()

    client_as("operator").post(f"/workflows/runs/{run.pk}/event/", {"event": "submit", "comment": "please"})

    run.refresh_from_db()
    assert run.state == "PENDING_APPROVAL"


def test_inbox_lists_what_waits_on_me(client_as, pending_change):
    assert f'data-approve="{pending_change.pk}"' in client_as("manager").get("/approvals/").content.decode()
    assert (
        f'data-approve="{pending_change.pk}"' not in client_as("operator").get("/approvals/").content.decode()
    )


def _link(pending_change, user, verdict="approve"):
    request = ApprovalRequest.objects.get(run=pending_change)
    notice = Notice.objects.get(approval=request, recipient=user, kind=NoticeKind.APPROVAL_REQUESTED)
    token = approval_token(notice_id=notice.pk, approval_id=request.pk, user_id=user.pk, verdict=verdict)
    return f"/approvals/link/{token}/", request


def test_an_approval_link_asks_to_sign_in_confirms_on_get_and_acts_once_on_post(
    client, pending_change, users
):
    url, request = _link(pending_change, users["manager"])

    assert client.get(url).status_code == 302  # to the login page
    client.force_login(users["manager"])
    assert client.get(url).status_code == 200
    request.refresh_from_db()
    assert request.received == 0  # a GET (a mail scanner) decides nothing

    assert client.post(url, {"comment": "from mail"}).status_code == 200
    again = client.post(url)

    request.refresh_from_db()
    assert request.received == 1
    assert again.status_code == 409 and "already used" in again.content.decode()
    assert verbs(pending_change, "workflow.approval.decided") == ["workflow.approval.decided"]


def test_an_approval_link_of_someone_else_is_not_found(client, pending_change, users):
    url, _ = _link(pending_change, users["manager"])
    client.force_login(users["admin"])

    assert client.post(url).status_code == 404


def test_a_forged_link_is_gone(client, users):
    client.force_login(users["manager"])

    assert client.get("/approvals/link/not-a-token/").status_code == 410


def test_my_tasks_page_renders_markdown_sanitized(client_as, actor_as, users):
    task_create(
        actor=actor_as("operator"),
        title="Audit",
        description="**bold** <script>x()</script>",
        assignee=users["operator"],
    )

    page = client_as("operator").get("/tasks/").content.decode()

    assert "<strong>bold</strong>" in page and "<script>x()" not in page
