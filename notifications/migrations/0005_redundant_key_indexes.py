"""The outbox without its index on the organization alone: its other indexes of the organization
start with it. A drop alone (``opsplatform.core.key_indexes``), quick on a large outbox."""

from django.db import migrations, models

from opsplatform.core.key_indexes import drop_key_index


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_signin_sso"),
        ("notifications", "0004_idempotency_key_without_pattern_index"),
    ]

    operations = [
        drop_key_index(
            model_name="notification",
            name="organization",
            table="notifications_notification",
            index="notifications_notification_organization_id_696639cb",
            field=models.ForeignKey(
                db_index=False, on_delete=models.deletion.CASCADE, to="accounts.organization"
            ),
        ),
    ]
