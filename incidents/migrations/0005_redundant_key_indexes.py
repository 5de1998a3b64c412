"""Fewer indexes on incidents and alerts, the tables a storm writes most.

Dropped: the incidents' and the alerts' index on the organization alone (every other index of
either table but the primary key starts with it) and the alerts' index on the incident alone
((incident, dedup key) serves every lookup by incident, the deletes that cascade included). Only
drops: no constraint is dropped and validated again, so it is quick on large tables.
"""

from django.db import migrations, models

FORWARD = [
    "DROP INDEX IF EXISTS incidents_incident_organization_id_63de570a",
    "DROP INDEX IF EXISTS incidents_alert_organization_id_2dde61a0",
    "DROP INDEX IF EXISTS incidents_alert_incident_id_de5c827a",
]
BACKWARD = [
    "CREATE INDEX incidents_alert_incident_id_de5c827a ON incidents_alert (incident_id)",
    "CREATE INDEX incidents_alert_organization_id_2dde61a0 ON incidents_alert (organization_id)",
    "CREATE INDEX incidents_incident_organization_id_63de570a ON incidents_incident (organization_id)",
]


def _organization() -> models.ForeignKey:
    return models.ForeignKey(db_index=False, on_delete=models.deletion.CASCADE, to="accounts.organization")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_signin_sso"),
        ("incidents", "0004_ingestion"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(FORWARD, reverse_sql=BACKWARD)],
            state_operations=[
                migrations.AlterField(model_name="incident", name="organization", field=_organization()),
                migrations.AlterField(model_name="alert", name="organization", field=_organization()),
                migrations.AlterField(
                    model_name="alert",
                    name="incident",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=models.deletion.SET_NULL,
                        related_name="alerts",
                        to="incidents.incident",
                    ),
                ),
            ],
        ),
    ]
