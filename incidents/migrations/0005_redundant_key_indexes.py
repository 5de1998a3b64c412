"""Fewer indexes on incidents and alerts, the tables a storm writes most.

Dropped: the incidents' and the alerts' index on the organization alone (the incidents' lists'
indexes and the alerts' (organization, dedup key) start with it) and the alerts' index on the
incident alone ((incident, dedup key) serves every lookup by incident, the deletes that cascade
included). Only drops (``opsplatform.core.key_indexes``), quick on large tables.
"""

from django.db import migrations, models

from opsplatform.core.key_indexes import drop_key_index


def _organization() -> models.ForeignKey:
    return models.ForeignKey(db_index=False, on_delete=models.deletion.CASCADE, to="accounts.organization")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_signin_sso"),
        ("incidents", "0004_ingestion"),
    ]

    operations = [
        drop_key_index(
            model_name="incident",
            name="organization",
            table="incidents_incident",
            index="incidents_incident_organization_id_63de570a",
            field=_organization(),
        ),
        drop_key_index(
            model_name="alert",
            name="organization",
            table="incidents_alert",
            index="incidents_alert_organization_id_2dde61a0",
            field=_organization(),
        ),
        drop_key_index(
            model_name="alert",
            name="incident",
            table="incidents_alert",
            index="incidents_alert_incident_id_de5c827a",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=models.deletion.SET_NULL,
                related_name="alerts",
                to="incidents.incident",
            ),
        ),
    ]
