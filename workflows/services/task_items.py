"""Tasks: create, update, complete. Each write locks the row, records a ledger entry and publishes.

The description is Markdown, stored as written and rendered through ``opsplatform.core.markdown``
(sanitized) wherever it is shown. Moving the due time clears ``overdue_at``, so the overdue tick
may mark (and notify) again for the new due time.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from audit.services import record
from opsplatform.accounts.models import Membership
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Capability
from workflows.models import ACTIVE_TASK_STATUSES, Task, TaskStatus
from workflows.realtime import publish_task

MAX_CHECKLIST = 50
TASK_CREATED = "task.created"
EDITABLE = ("title", "description", "assignee", "due_at", "checklist", "status")
# status -> statuses it may move to
MOVES = {
    TaskStatus.OPEN: {TaskStatus.IN_PROGRESS, TaskStatus.DONE, TaskStatus.CANCELLED},
    TaskStatus.IN_PROGRESS: {TaskStatus.OPEN, TaskStatus.DONE, TaskStatus.CANCELLED},
    TaskStatus.DONE: {TaskStatus.OPEN},
    TaskStatus.CANCELLED: {TaskStatus.OPEN},
}


def _clean_title(title) -> str:
    title = (title or "").strip()
    if not title or len(title) > 200:
        raise ValidationError({"title": "A title of 1 to 200 characters."})
    return title


def _clean_description(text) -> str:
    text = (text or "").strip()
    if len(text) > 20_000:
        raise ValidationError({"description": "At most 20,000 characters."})
    return text


def clean_checklist(items) -> list:
    if items is None:
        return []
    if not isinstance(items, list) or len(items) > MAX_CHECKLIST:
        raise ValidationError({"checklist": f"A list of at most {MAX_CHECKLIST} items."})
    cleaned = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise ValidationError({f"checklist.{i}": 'An item is {"text": …, "done": true|false}.'})
        text = item["text"].strip()
        if not text or len(text) > 300:
            raise ValidationError({f"checklist.{i}.text": "1 to 300 characters."})
        if set(item) - {"text", "done"}:
            raise ValidationError({f"checklist.{i}": "Only text and done."})
        cleaned.append({"text": text, "done": bool(item.get("done", False))})
    return cleaned


def _check_assignee(organization, assignee) -> None:
    if (
        assignee is not None
        and not Membership.objects.filter(organization=organization, user=assignee).exists()
    ):
        raise ValidationError({"assignee": "Not a member of this organization."})


def _ensure_same_organization(actor: Actor, obj) -> None:
    if obj is not None and obj.organization_id != getattr(actor.organization, "pk", None):
        raise Http404("No task matches the given query.")


def _new(*, actor, organization, title, description, assignee, due_at, checklist, incident, run, now) -> Task:
    """A checked task, not yet saved."""
    return Task(
        organization=organization,
        title=_clean_title(title),
        description=_clean_description(description),
        assignee=assignee,
        due_at=due_at,
        checklist=clean_checklist(checklist),
        incident=incident,
        run=run,
        created_by=actor.user,
        created_at=now,
        updated_at=now,
    )


def created_entry(task) -> tuple:
    """A saved new task's ledger entry: ``(target, verb, data)``, as ``record_many`` takes it."""
    return (
        task,
        TASK_CREATED,
        {
            "title": task.title,
            "assignee": task.assignee_id,
            "due_at": task.due_at.isoformat() if task.due_at else None,
            "incident": task.incident_id,
            "run": task.run_id,
        },
    )


def _create(*, actor, **values) -> Task:
    task = _new(actor=actor, now=timezone.now(), **values)
    task.save(force_insert=True)
    target, verb, data = created_entry(task)
    record(actor=actor, verb=verb, target=target, data=data)
    publish_task(task, verb)
    return task


@transaction.atomic
def task_create(
    *,
    actor: Actor,
    title: str,
    description: str = "",
    assignee=None,
    due_at=None,
    checklist=None,
    incident=None,
    run=None,
) -> Task:
    actor.require(Capability.TASK_MANAGE)
    organization = actor.organization
    for obj, name in ((incident, "incident"), (run, "run")):
        if obj is not None and obj.organization_id != organization.pk:
            raise ValidationError({name: f"No such {name} in this organization."})
    _check_assignee(organization, assignee)
    return _create(
        actor=actor,
        organization=organization,
        title=title,
        description=description,
        assignee=assignee,
        due_at=due_at,
        checklist=checklist,
        incident=incident,
        run=run,
    )


def new_task_for_run(*, actor: Actor, run, title: str, description: str = "", due_at=None, now) -> Task:
    """A task of a run's template (the playbook's checklist), checked and not yet saved: the run's
    creation saves its tasks together."""
    return _new(
        actor=actor,
        organization=run.organization,
        title=title,
        description=description,
        assignee=None,
        due_at=due_at,
        checklist=None,
        incident=run.incident,
        run=run,
        now=now,
    )


@transaction.atomic
def task_update(*, actor: Actor, task: Task, **changes) -> Task:
    _ensure_same_organization(actor, task)
    actor.require(Capability.TASK_MANAGE, task)
    if unknown := set(changes) - set(EDITABLE):
        raise ValidationError(dict.fromkeys(sorted(unknown), "Unknown field."))
    locked = Task.objects.select_for_update().get(pk=task.pk)
    changed = {}
    if "title" in changes:
        changed["title"] = _clean_title(changes["title"])
    if "description" in changes:
        changed["description"] = _clean_description(changes["description"])
    if "checklist" in changes:
        changed["checklist"] = clean_checklist(changes["checklist"])
    if "assignee" in changes:
        _check_assignee(locked.organization, changes["assignee"])
        changed["assignee"] = changes["assignee"]
    if "due_at" in changes:
        changed["due_at"] = changes["due_at"]
    if "status" in changes and changes["status"] != locked.status:
        status = changes["status"]
        if status not in MOVES.get(locked.status, ()):
            raise ValidationError(
                {"status": f"A {locked.get_status_display().lower()} task cannot become {status}."}
            )
        changed["status"] = status
    changed = {k: v for k, v in changed.items() if getattr(locked, k) != v}
    if not changed:
        return locked
    now = timezone.now()
    for key, value in changed.items():
        setattr(locked, key, value)
    fields = [*changed, "updated_at"]
    if "due_at" in changed:
        locked.overdue_at = None
        fields.append("overdue_at")
    if "status" in changed:
        locked.completed_at = now if changed["status"] == TaskStatus.DONE else None
        fields.append("completed_at")
    locked.updated_at = now
    locked.save(update_fields=fields)
    verb = "task.completed" if changed.get("status") == TaskStatus.DONE else "task.updated"
    record(actor=actor, verb=verb, target=locked, data=_ledger_changes(changed))
    publish_task(locked, verb)
    return locked


def _ledger_changes(changed: dict) -> dict:
    data = {}
    for key, value in changed.items():
        if key == "assignee":
            data[key] = value.pk if value else None
        elif key == "due_at":
            data[key] = value.isoformat() if value else None
        elif key == "description":
            data[key] = "changed"
        else:
            data[key] = value
    return data


def task_complete(*, actor: Actor, task: Task) -> Task:
    """Done; a task already done is left as it is."""
    if task.status == TaskStatus.DONE:
        _ensure_same_organization(actor, task)
        actor.require(Capability.TASK_MANAGE, task)
        return task
    return task_update(actor=actor, task=task, status=TaskStatus.DONE)


__all__ = [
    "ACTIVE_TASK_STATUSES",
    "created_entry",
    "new_task_for_run",
    "task_complete",
    "task_create",
    "task_update",
]
