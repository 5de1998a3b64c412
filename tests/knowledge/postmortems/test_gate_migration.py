"""The data migration that puts the approval gate into organizations' unedited review templates."""

import importlib

from django.apps import apps

from workflows.builtins import POSTMORTEM_REVIEW
from workflows.models import WorkflowDefinition, WorkflowVersion

migration = importlib.import_module("knowledge.postmortems.migrations.0002_review_approval_gate")


def _old_spec(spec):
    return {
        **spec,
        "transitions": [migration.OLD_PUBLISH if t["event"] == "publish" else t for t in spec["transitions"]],
    }


def test_unedited_templates_get_the_gate_edited_ones_are_left(org, other_org):
    unedited = WorkflowDefinition.objects.get(organization=org, key=POSTMORTEM_REVIEW)
    edited = WorkflowDefinition.objects.get(organization=other_org, key=POSTMORTEM_REVIEW)
    current = WorkflowVersion.objects.filter(definition=unedited).order_by("-number").first().spec
    assert migration.NEW_PUBLISH in current["transitions"]  # the built-in as installed today
    base = WorkflowVersion.objects.filter(definition=unedited).count()
    WorkflowVersion.objects.create(definition=unedited, number=base + 1, spec=_old_spec(current))
    reshaped = _old_spec(current)
    reshaped["transitions"][0] = {**reshaped["transitions"][0], "label": "Ask for review"}
    reshaped["transitions"] = [
        {**t, "guard": {"capability": "workflow.run", "role": "admin"}} if t["event"] == "publish" else t
        for t in reshaped["transitions"]
    ]
    WorkflowVersion.objects.create(definition=edited, number=99, spec=reshaped)
    migration.add_gate(apps, None)
    latest = WorkflowVersion.objects.filter(definition=unedited).order_by("-number").first()
    assert latest.number == base + 2 and migration.NEW_PUBLISH in latest.spec["transitions"]
    assert WorkflowVersion.objects.filter(definition=edited).order_by("-number").first().number == 99
