"""A unique text key without the pattern index Django adds beside it.

On PostgreSQL a ``CharField(unique=True)`` gets two indexes: the unique one and a
``varchar_pattern_ops`` twin for ``LIKE 'prefix%'``. Idempotency keys and digests are only ever
looked up whole, so the twin is written on every insert and every update that cannot stay on its
page, and never read: the outbox tables rewrite their rows two or three times each. These models
declare the key as a ``UniqueConstraint`` instead; ``drop_pattern_index`` moves an existing table
there without rebuilding anything (a drop and a rename), quick on a large table.
"""

from django.db import migrations, models


def drop_pattern_index(
    *, model_name: str, table: str, field: str, pattern_index: str, constraint: str, **char_field
) -> migrations.SeparateDatabaseAndState:
    """The migration step for ``field`` of ``model_name`` (its table ``table``), whose pattern index is
    named ``pattern_index``; its unique constraint Django named ``<table>_<field>_key`` becomes
    ``constraint``, the name the model's ``UniqueConstraint`` gives it. ``char_field``: the field's
    options as the model now declares them (``max_length``, ``null``)."""
    default_key = f"{table}_{field}_key"
    forward = [
        f"DROP INDEX IF EXISTS {pattern_index}",
        f"ALTER TABLE {table} RENAME CONSTRAINT {default_key} TO {constraint}",
    ]
    backward = [
        f"ALTER TABLE {table} RENAME CONSTRAINT {constraint} TO {default_key}",
        f"CREATE INDEX {pattern_index} ON {table} ({field} varchar_pattern_ops)",
    ]
    return migrations.SeparateDatabaseAndState(
        database_operations=[migrations.RunSQL(forward, reverse_sql=backward)],
        state_operations=[
            migrations.AlterField(model_name=model_name, name=field, field=models.CharField(**char_field)),
            migrations.AddConstraint(
                model_name=model_name, constraint=models.UniqueConstraint(fields=(field,), name=constraint)
            ),
        ],
    )
