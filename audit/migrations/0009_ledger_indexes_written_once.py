"""Fewer indexes on the ledger: each is written twice an entry (staged, then sealed).

Dropped: the organization's own index (every other index starts with it), the plain index on the
verb (its ``varchar_pattern_ops`` twin answers equality and prefixes, renamed ``ledger_verb_idx``) and
the pattern index on ``entry_hash`` (a hex digest, never searched by prefix; its unique constraint
stays, renamed). Only names and drops: nothing is rebuilt, so it is quick on a large ledger.
"""

from django.db import migrations, models

from opsplatform.core.unique_keys import drop_pattern_index

FORWARD = [
    "DROP INDEX IF EXISTS audit_ledgerentry_organization_id_00d1851d",
    "DROP INDEX IF EXISTS audit_ledgerentry_verb_2c8e24c9",
    "ALTER INDEX audit_ledgerentry_verb_2c8e24c9_like RENAME TO ledger_verb_idx",
]
BACKWARD = [
    "ALTER INDEX ledger_verb_idx RENAME TO audit_ledgerentry_verb_2c8e24c9_like",
    "CREATE INDEX audit_ledgerentry_verb_2c8e24c9 ON audit_ledgerentry (verb)",
    "CREATE INDEX audit_ledgerentry_organization_id_00d1851d ON audit_ledgerentry (organization_id)",
]


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("audit", "0008_try_seal"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(FORWARD, reverse_sql=BACKWARD)],
            state_operations=[
                migrations.AlterField(
                    model_name="ledgerentry",
                    name="organization",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=models.deletion.PROTECT,
                        related_name="+",
                        to="accounts.organization",
                    ),
                ),
                migrations.AlterField(model_name="ledgerentry", name="verb", field=models.CharField(max_length=64)),
                migrations.AddIndex(
                    model_name="ledgerentry",
                    index=models.Index(fields=["verb"], name="ledger_verb_idx", opclasses=["varchar_pattern_ops"]),
                ),
            ],
        ),
        drop_pattern_index(
            model_name="ledgerentry",
            table="audit_ledgerentry",
            field="entry_hash",
            pattern_index="audit_ledgerentry_entry_hash_e2af72e5_like",
            constraint="ledger_entry_hash_unique",
            max_length=64,
            null=True,
        ),
    ]
