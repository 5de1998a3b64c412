"""Automation executions without their indexes on the rule alone and on the incident alone:
(rule, created) and (incident, created) serve every lookup by either. Drops alone
(``opsplatform.core.key_indexes``), quick on a large table."""

from django.db import migrations, models

from opsplatform.core.key_indexes import drop_key_index


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0005_redundant_key_indexes"),
        ("workflows", "0006_idempotency_keys_without_pattern_index"),
    ]

    operations = [
        drop_key_index(
            model_name="automationexecution",
            name="rule",
            table="workflows_automationexecution",
            index="workflows_automationexecution_rule_id_ea16b17b",
            field=models.ForeignKey(
                db_index=False,
                on_delete=models.deletion.CASCADE,
                related_name="executions",
                to="workflows.automationrule",
            ),
        ),
        drop_key_index(
            model_name="automationexecution",
            name="incident",
            table="workflows_automationexecution",
            index="workflows_automationexecution_incident_id_16d2be12",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=models.deletion.SET_NULL,
                related_name="+",
                to="incidents.incident",
            ),
        ),
    ]
