"""Webhook subscribers (a subscriber's kind, URL, secret and health), the outbox's claim token and
answer code, and the maintenance tick's due-time column with the updates it posts."""

import django.core.validators
from django.db import migrations, models
from django.db.models import Q
from django.utils import timezone


def schedule_open_maintenance(apps, schema_editor):
    """Open maintenance notices whose window has not ended get their timer. Windows already over are
    left as they are: completing them now would mail every subscriber about the past."""
    StatusNotice = apps.get_model("statuspages", "StatusNotice")
    now = timezone.now()
    open_ones = StatusNotice.objects.filter(
        kind="maintenance", resolved_at__isnull=True, scheduled_until__gt=now
    ).exclude(status__in=["completed", "resolved"])
    open_ones.filter(status="scheduled").update(transition_due_at=models.F("scheduled_for"))
    open_ones.exclude(status="scheduled").update(transition_due_at=models.F("scheduled_until"))


class Migration(migrations.Migration):
    dependencies = [
        ("statuspages", "0001_initial"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="statussubscriber", name="subscriber_unique"),
        migrations.AlterModelOptions(name="statussubscriber", options={"ordering": ["email", "url", "pk"]}),
        migrations.AddField(
            model_name="statussubscriber",
            name="kind",
            field=models.CharField(
                choices=[("email", "E-mail"), ("webhook", "Webhook")], default="email", max_length=8
            ),
        ),
        migrations.AlterField(
            model_name="statussubscriber",
            name="email",
            field=models.EmailField(blank=True, default="", max_length=254),
        ),
        migrations.AddField(
            model_name="statussubscriber",
            name="url",
            field=models.CharField(blank=True, default="", max_length=2000),
        ),
        migrations.AddField(
            model_name="statussubscriber",
            name="description",
            field=models.CharField(blank=True, default="", max_length=150),
        ),
        migrations.AddField(
            model_name="statussubscriber",
            name="secret",
            field=models.TextField(blank=True, default=""),
        ),
        migrations.AddField(
            model_name="statussubscriber",
            name="disabled_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="statussubscriber",
            name="disabled_reason",
            field=models.CharField(blank=True, default="", max_length=300),
        ),
        migrations.AddField(
            model_name="statussubscriber",
            name="consecutive_failures",
            field=models.PositiveSmallIntegerField(
                default=0, validators=[django.core.validators.MaxValueValidator(1000)]
            ),
        ),
        migrations.AddField(
            model_name="statussubscriber",
            name="last_delivery_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="statussubscriber",
            name="last_delivery_ok",
            field=models.BooleanField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="statussubscriber",
            name="last_delivery_result",
            field=models.CharField(blank=True, default="", max_length=300),
        ),
        migrations.AddConstraint(
            model_name="statussubscriber",
            constraint=models.UniqueConstraint(
                condition=Q(kind="email"), fields=("page", "email"), name="subscriber_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="statussubscriber",
            constraint=models.UniqueConstraint(
                condition=Q(kind="webhook"), fields=("page", "url"), name="subscriber_webhook_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="statussubscriber",
            constraint=models.CheckConstraint(
                condition=(Q(kind="email") & ~Q(email="") & Q(url=""))
                | (Q(kind="webhook") & ~Q(url="") & Q(email="")),
                name="subscriber_address_of_its_kind",
            ),
        ),
        migrations.AddField(
            model_name="statusdelivery",
            name="claim_token",
            field=models.UUIDField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="statusdelivery",
            name="status_code",
            field=models.PositiveSmallIntegerField(
                blank=True, null=True, validators=[django.core.validators.MaxValueValidator(999)]
            ),
        ),
        migrations.AddField(
            model_name="statusnotice",
            name="transition_due_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name="statusnotice",
            index=models.Index(
                condition=Q(transition_due_at__isnull=False),
                fields=["transition_due_at"],
                name="notice_transition_due_idx",
            ),
        ),
        migrations.AddField(
            model_name="statusnoticeupdate",
            name="transition",
            field=models.CharField(
                blank=True,
                choices=[("start", "Maintenance started"), ("end", "Maintenance ended")],
                default="",
                max_length=8,
            ),
        ),
        migrations.AddField(
            model_name="statusnoticeupdate",
            name="component_states",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddConstraint(
            model_name="statusnoticeupdate",
            constraint=models.UniqueConstraint(
                condition=~Q(transition=""), fields=("notice", "transition"), name="notice_transition_once"
            ),
        ),
        migrations.RunPython(schedule_open_maintenance, migrations.RunPython.noop),
    ]
