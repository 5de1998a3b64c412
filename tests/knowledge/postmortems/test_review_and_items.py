"""Action items are tasks; review and publish go through the postmortem_review workflow; a
published postmortem is read-only; a stale base revision is a conflict."""

import pytest
from django.core.exceptions import PermissionDenied

from knowledge.postmortems.errors import ReadOnly, RevisionConflict
from knowledge.postmortems.models import PostmortemStatus
from knowledge.postmortems.services import (
    action_item_add,
    postmortem_resync,
    postmortem_review_event,
    postmortem_save,
    postmortem_submit,
)
from knowledge.postmortems.services.review import timeline_digest
from knowledge.postmortems.tasks import review_tick
from tests.ledger import entries
from workflows.errors import TransitionError
from workflows.models import ApprovalRequest, Task, TaskStatus
from workflows.services.approvals import decide
from workflows.services.runs import transition
from workflows.services.task_items import task_complete


def test_action_item_creates_a_task_and_completion_shows(drafted, actor_as, users):
    item = action_item_add(
        actor=actor_as("operator"), postmortem=drafted, title="Raise the pool size", assignee=users["manager"]
    )
    task = Task.objects.get(pk=item.task_id)
    assert (task.title, task.assignee, task.incident_id, task.status) == (
        "Raise the pool size",
        users["manager"],
        drafted.incident_id,
        TaskStatus.OPEN,
    )
    assert entries("task.created", target=task).count() == 1
    task_complete(actor=actor_as("manager"), task=task)
    assert drafted.action_items.get().task.status == TaskStatus.DONE


def test_review_and_publish_through_the_workflow(drafted, actor_as):
    drafted = postmortem_submit(actor=actor_as("operator"), postmortem=drafted)
    run = drafted.review_run
    assert drafted.status == PostmortemStatus.IN_REVIEW
    assert (run.definition.key, run.state) == ("postmortem_review", "IN_REVIEW")
    with pytest.raises(PermissionDenied):
        postmortem_review_event(actor=actor_as("operator"), postmortem=drafted, event="publish")
    drafted.refresh_from_db()
    assert drafted.status == PostmortemStatus.IN_REVIEW
    drafted = postmortem_review_event(actor=actor_as("manager"), postmortem=drafted, event="publish")
    assert drafted.status == PostmortemStatus.PUBLISHED
    assert drafted.published_revision == drafted.revision
    assert drafted.revisions.get(number=drafted.revision).published
    published = entries("postmortem.published", target=drafted).get()
    assert published.data["timeline_digest"] == timeline_digest(drafted)
    assert published.data["timeline"] == drafted.timeline.count() > 0


def test_request_changes_returns_to_draft(drafted, actor_as):
    drafted = postmortem_submit(actor=actor_as("operator"), postmortem=drafted)
    drafted = postmortem_review_event(actor=actor_as("operator"), postmortem=drafted, event="request_changes")
    assert drafted.status == PostmortemStatus.DRAFT
    drafted = postmortem_submit(actor=actor_as("operator"), postmortem=drafted)
    assert drafted.status == PostmortemStatus.IN_REVIEW
    assert drafted.review_run.state == "IN_REVIEW"


def test_publish_on_the_run_page_is_picked_up_by_the_tick(drafted, actor_as):
    drafted = postmortem_submit(actor=actor_as("operator"), postmortem=drafted)
    # Publishing is the approval gate's: an approver decides it on the run's page.
    approval = ApprovalRequest.objects.get(run=drafted.review_run, event="publish", status="pending")
    decide(actor=actor_as("manager"), approval=approval, verdict="approve")
    drafted.refresh_from_db()
    assert drafted.status == PostmortemStatus.IN_REVIEW
    assert review_tick() == 1
    drafted.refresh_from_db()
    assert drafted.status == PostmortemStatus.PUBLISHED
    assert review_tick() == 0
    assert entries("postmortem.published", target=drafted).get().actor_type == "system"


def test_published_is_read_only(drafted, actor_as):
    drafted = postmortem_submit(actor=actor_as("operator"), postmortem=drafted)
    drafted = postmortem_review_event(actor=actor_as("manager"), postmortem=drafted, event="publish")
    with pytest.raises(ReadOnly):
        postmortem_save(
            actor=actor_as("manager"),
            postmortem=drafted,
            base_revision=drafted.revision,
            sections={"summary": "x"},
        )
    with pytest.raises(ReadOnly):
        postmortem_resync(actor=actor_as("manager"), postmortem=drafted)
    with pytest.raises(ReadOnly):
        action_item_add(actor=actor_as("manager"), postmortem=drafted, title="Late")
    drafted.refresh_from_db()
    assert drafted.summary != "x" and drafted.revisions.count() == 1


def test_stale_base_revision_conflicts(drafted, actor_as):
    first = postmortem_save(
        actor=actor_as("operator"), postmortem=drafted, base_revision=1, sections={"impact": "A"}
    )
    assert first.revision == 2
    with pytest.raises(RevisionConflict):
        postmortem_save(
            actor=actor_as("manager"), postmortem=drafted, base_revision=1, sections={"impact": "B"}
        )
    first.refresh_from_db()
    assert (first.impact, first.revision, first.revisions.count()) == ("A", 2, 2)


def test_publishing_is_an_approval_gate_the_requester_cannot_pass(drafted, actor_as):
    drafted = postmortem_submit(actor=actor_as("manager"), postmortem=drafted)
    approval = ApprovalRequest.objects.get(run=drafted.review_run, event="publish", status="pending")
    assert approval.requester.username == "manager"
    # The event alone no longer publishes, and the manager who asked may not sign off on it.
    with pytest.raises(TransitionError):
        transition(actor=actor_as("admin"), run=drafted.review_run, event="publish")
    with pytest.raises(PermissionDenied):
        postmortem_review_event(actor=actor_as("manager"), postmortem=drafted, event="publish")
    drafted.refresh_from_db()
    assert drafted.status == PostmortemStatus.IN_REVIEW
    drafted = postmortem_review_event(actor=actor_as("admin"), postmortem=drafted, event="publish")
    assert drafted.status == PostmortemStatus.PUBLISHED
    assert entries("workflow.approval.decided", target=drafted.review_run).get().data["outcome"] == "approved"


def test_a_rejected_approval_sends_the_postmortem_back_to_draft(drafted, actor_as):
    drafted = postmortem_submit(actor=actor_as("operator"), postmortem=drafted)
    approval = ApprovalRequest.objects.get(run=drafted.review_run, event="publish", status="pending")
    decide(actor=actor_as("manager"), approval=approval, verdict="reject", comment="Root cause is thin")
    assert review_tick() == 1
    drafted.refresh_from_db()
    assert drafted.status == PostmortemStatus.DRAFT and drafted.review_run.state == "DRAFT"
