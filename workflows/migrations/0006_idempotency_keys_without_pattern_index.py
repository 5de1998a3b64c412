"""The automation executions' and notices' idempotency keys without their pattern indexes
(``opsplatform.core.unique_keys``): both rows are rewritten as they run, the pattern index each time,
and never read."""

from django.db import migrations

from opsplatform.core.unique_keys import drop_pattern_index


class Migration(migrations.Migration):
    dependencies = [("workflows", "0005_alter_notice_medium")]

    operations = [
        drop_pattern_index(
            model_name="automationexecution",
            table="workflows_automationexecution",
            field="idempotency_key",
            pattern_index="workflows_automationexecution_idempotency_key_0ac387d2_like",
            constraint="automation_idempotency_unique",
            max_length=160,
        ),
        drop_pattern_index(
            model_name="notice",
            table="workflows_notice",
            field="idempotency_key",
            pattern_index="workflows_notice_idempotency_key_b61a7122_like",
            constraint="notice_idempotency_unique",
            max_length=120,
        ),
    ]
