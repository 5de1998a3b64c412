"""The built-in postmortem review publishes through an approval gate. Organizations whose review
template is still the one they were given get it as a new version (runs in flight keep the version
they started on); a template someone edited is left as they made it."""

import copy

from django.db import migrations

OLD_PUBLISH = {
    "from": "IN_REVIEW",
    "event": "publish",
    "to": "PUBLISHED",
    "label": "Publish",
    "guard": {"capability": "workflow.run", "role": "manager"},
}
NEW_PUBLISH = {
    "from": "IN_REVIEW",
    "event": "publish",
    "to": "PUBLISHED",
    "label": "Publish",
    "gate": {
        "approvers": {"roles": ["manager", "admin", "owner"]},
        "rule": "n_of_m",
        "required": 1,
        "timeout_minutes": 2880,
        "remind_after_minutes": 1440,
        "fallback": {"roles": ["owner"]},
        "on_reject": "back_to:DRAFT",
    },
}


def add_gate(apps, schema_editor):
    Definition = apps.get_model("workflows", "WorkflowDefinition")
    Version = apps.get_model("workflows", "WorkflowVersion")
    for definition in Definition.objects.filter(builtin="postmortem_review"):
        latest = Version.objects.filter(definition=definition).order_by("-number").first()
        if latest is None or OLD_PUBLISH not in latest.spec.get("transitions", []):
            continue
        spec = copy.deepcopy(latest.spec)
        spec["transitions"] = [NEW_PUBLISH if t == OLD_PUBLISH else t for t in spec["transitions"]]
        Version.objects.create(definition=definition, number=latest.number + 1, spec=spec)


class Migration(migrations.Migration):
    dependencies = [("postmortems", "0001_initial"), ("workflows", "0003_automation_rules")]

    operations = [migrations.RunPython(add_gate, migrations.RunPython.noop)]
