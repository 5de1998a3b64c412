"""The database's half of separation of duties, and the built-in templates for existing organizations.

A decision's ``requester_id`` must be its request's (composite foreign key onto the request's
UNIQUE (id, requester_id)), and the CHECK ``approval_not_by_requester`` (0001) refuses a decision
whose approver is that requester: a row inserted past the services cannot count the requester.
"""

from django.db import migrations

from workflows.builtins import BUILTINS

FK_SQL = """
ALTER TABLE workflows_approvaldecision
  ADD CONSTRAINT approval_decision_request_requester
  FOREIGN KEY (request_id, requester_id)
  REFERENCES workflows_approvalrequest (id, requester_id)
  ON DELETE CASCADE
"""
FK_REVERSE = "ALTER TABLE workflows_approvaldecision DROP CONSTRAINT approval_decision_request_requester"


def install(apps, schema_editor):
    Organization = apps.get_model("accounts", "Organization")
    Definition = apps.get_model("workflows", "WorkflowDefinition")
    Version = apps.get_model("workflows", "WorkflowVersion")
    for organization in Organization.objects.all():
        for key, (name, description, spec) in BUILTINS.items():
            definition, created = Definition.objects.get_or_create(
                organization=organization,
                key=key,
                defaults={"name": name, "description": description, "builtin": key},
            )
            if created:
                Version.objects.create(definition=definition, number=1, spec=spec)


class Migration(migrations.Migration):
    dependencies = [("workflows", "0001_initial"), ("accounts", "0001_initial")]

    operations = [
        migrations.RunSQL(FK_SQL, FK_REVERSE),
        migrations.RunPython(install, migrations.RunPython.noop),
    ]
