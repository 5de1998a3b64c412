"""Saving sections as revisions (with base-revision conflict detection) and adding action items."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.services import record
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Capability
from workflows.services.task_items import task_create

from ..errors import ReadOnly, RevisionConflict
from ..models import SECTION_KEYS, ActionItem, Postmortem, PostmortemRevision, PostmortemStatus

SECTION_LIMIT = 50_000


def _clean(title, sections: dict) -> tuple[str, dict]:
    errors = {}
    title = (title or "").strip()
    if not title or len(title) > 200:
        errors["title"] = "A title of 1 to 200 characters."
    if unknown := set(sections) - set(SECTION_KEYS):
        errors.update(dict.fromkeys(sorted(unknown), "Unknown section."))
    cleaned = {}
    for key, text in sections.items():
        if key in SECTION_KEYS:
            if not isinstance(text, str):
                errors[key] = "Markdown text."
            elif len(text) > SECTION_LIMIT:
                errors[key] = f"At most {SECTION_LIMIT:,} characters."
            else:
                cleaned[key] = text.strip()
    if errors:
        raise ValidationError(errors)
    return title, cleaned


@transaction.atomic
def postmortem_save(
    *, actor: Actor, postmortem: Postmortem, base_revision: int, title=None, sections=None, message: str = ""
) -> Postmortem:
    """A new revision when something changed. ``base_revision`` is the revision the editor started
    from: when it is not the latest any more, the save is refused rather than overwriting."""
    actor.require(Capability.POSTMORTEM_EDIT)
    locked = Postmortem.objects.select_for_update().get(pk=postmortem.pk)
    if locked.status == PostmortemStatus.PUBLISHED:
        raise ReadOnly("A published postmortem is read-only.")
    title, sections = _clean(locked.title if title is None else title, sections or {})
    if base_revision != locked.revision:
        raise RevisionConflict(base=base_revision, current=locked.revision)
    changed = {key: text for key, text in sections.items() if getattr(locked, key) != text}
    if title != locked.title:
        changed["title"] = title
    if not changed:
        return locked
    now = timezone.now()
    for key, value in changed.items():
        setattr(locked, key, value)
    locked.revision += 1
    locked.updated_at = now
    locked.save(update_fields=[*changed, "revision", "updated_at"])
    PostmortemRevision.objects.create(
        organization=locked.organization,
        postmortem=locked,
        number=locked.revision,
        title=locked.title,
        sections=locked.sections(),
        message=(message or "").strip()[:200],
        author=actor.user,
        created_at=now,
    )
    record(
        actor=actor,
        verb="postmortem.revised",
        target=locked,
        data={"revision": locked.revision, "changed": sorted(changed)},
    )
    return locked


@transaction.atomic
def action_item_add(
    *, actor: Actor, postmortem: Postmortem, title: str, assignee=None, due_at=None, description: str = ""
) -> ActionItem:
    """A workflows task (owner, due time) linked to the postmortem and its incident."""
    actor.require(Capability.POSTMORTEM_EDIT)
    locked = Postmortem.objects.select_for_update().get(pk=postmortem.pk)
    if locked.status == PostmortemStatus.PUBLISHED:
        raise ReadOnly("A published postmortem is read-only: add follow-ups as tasks.")
    task = task_create(
        actor=actor,
        title=title,
        description=description,
        assignee=assignee,
        due_at=due_at,
        incident=locked.incident,
    )
    item = ActionItem.objects.create(organization=locked.organization, postmortem=locked, task=task)
    record(
        actor=actor,
        verb="postmortem.action_item_added",
        target=locked,
        data={"task": task.pk, "title": task.title, "assignee": task.assignee_id},
    )
    return item
