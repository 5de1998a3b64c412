"""The outbox's idempotency key without its pattern index (``opsplatform.core.unique_keys``): a page's
row is written three times (queued, claimed, sent), the pattern index each time, and never read."""

from django.db import migrations

from opsplatform.core.unique_keys import drop_pattern_index


class Migration(migrations.Migration):
    dependencies = [("notifications", "0003_web_push")]

    operations = [
        drop_pattern_index(
            model_name="notification",
            table="notifications_notification",
            field="idempotency_key",
            pattern_index="notifications_notification_idempotency_key_0aab04ad_like",
            constraint="notification_idempotency_unique",
            max_length=64,
        )
    ]
