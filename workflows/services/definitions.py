"""Definitions and their versions: install the built-in templates, create, rename, publish.

Publishing never changes a version in place: it adds the next number, so a run's version (and the
state machine it is held to) stays what it was when the run started.
"""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone

from audit.services import record
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Capability
from workflows.builtins import BUILTINS
from workflows.models import WorkflowDefinition, WorkflowVersion
from workflows.services import people
from workflows.spec import parse


def install_builtins(organization) -> list[WorkflowDefinition]:
    """The built-in templates for ``organization``; those it already has are left as they are (it
    may have edited them). Runs for every new organization, and once (data migration) for the
    organizations that existed before workflows."""
    installed = []
    for key, (name, description, spec) in BUILTINS.items():
        definition, created = WorkflowDefinition.objects.get_or_create(
            organization=organization,
            key=key,
            defaults={"name": name, "description": description, "builtin": key},
        )
        if created:
            WorkflowVersion.objects.create(definition=definition, number=1, spec=spec)
        installed.append(definition)
    return installed


def latest_version(definition: WorkflowDefinition) -> WorkflowVersion:
    return definition.versions.order_by("-number").first()


def _check_spec(organization, raw):
    spec = parse(raw)
    problems = []
    for transition in spec.transitions:
        if transition.gate is None:
            continue
        for group in (transition.gate.approvers, transition.gate.fallback):
            problems += people.unknown_references(organization, group)
    if problems:
        raise ValidationError({"spec": [f"Not in this organization: {', '.join(problems)}."]})
    return spec


def _ensure_same_organization(actor: Actor, definition: WorkflowDefinition) -> None:
    if definition.organization_id != getattr(actor.organization, "pk", None):
        raise Http404("No workflow matches the given query.")


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 150:
        raise ValidationError({"name": "A name of 1 to 150 characters."})
    return name


@transaction.atomic
def definition_create(*, actor: Actor, key: str, name: str, spec: dict, description: str = "", team=None):
    actor.require(Capability.WORKFLOW_MANAGE)
    organization = actor.organization
    if team is not None and team.organization_id != organization.pk:
        raise ValidationError({"team": "No such team in this organization."})
    _check_spec(organization, spec)
    try:
        with transaction.atomic():
            definition = WorkflowDefinition.objects.create(
                organization=organization, key=key, name=_clean_name(name), description=description, team=team
            )
    except IntegrityError:
        raise ValidationError({"key": "A workflow with this key exists."}, code="unique") from None
    version = WorkflowVersion.objects.create(
        definition=definition, number=1, spec=spec, published_by=actor.user
    )
    record(
        actor=actor,
        verb="workflow.definition.published",
        target=definition,
        data={"key": definition.key, "version": version.number},
    )
    return definition


@transaction.atomic
def definition_update(*, actor: Actor, definition: WorkflowDefinition, spec=None, **changes):
    """Rename or describe the definition; a new ``spec`` publishes the next version."""
    _ensure_same_organization(actor, definition)
    actor.require(Capability.WORKFLOW_MANAGE, definition)
    locked = WorkflowDefinition.objects.select_for_update().get(pk=definition.pk)
    changed = {}
    if "name" in changes:
        locked.name = changed["name"] = _clean_name(changes.pop("name"))
    if "description" in changes:
        locked.description = changed["description"] = (changes.pop("description") or "").strip()
    if "team" in changes:
        team = changes.pop("team")
        if team is not None and team.organization_id != locked.organization_id:
            raise ValidationError({"team": "No such team in this organization."})
        locked.team = team
        changed["team"] = team.pk if team else None
    if changes:
        raise ValidationError(dict.fromkeys(changes, "Unknown field."))
    if changed:
        locked.save(update_fields=[k for k in ("name", "description", "team") if k in changed])
        record(actor=actor, verb="workflow.definition.updated", target=locked, data=changed)
    if spec is not None:
        _check_spec(locked.organization, spec)
        current = latest_version(locked)
        if current is None or current.spec != spec:
            version = WorkflowVersion.objects.create(
                definition=locked,
                number=(current.number if current else 0) + 1,
                spec=spec,
                published_at=timezone.now(),
                published_by=actor.user,
            )
            record(
                actor=actor,
                verb="workflow.definition.published",
                target=locked,
                data={"key": locked.key, "version": version.number},
            )
    return locked
