"""A foreign key without the index Django adds on its column alone, where another index of the
table starts with that column and serves every lookup by it (the deletes that cascade included).

On the tables a storm writes most, such an index is written on every insert and on every update
that cannot stay on its page, and never read. The model declares the key with ``db_index=False``;
``drop_key_index`` moves an existing table there with a drop alone: Django's own ``AlterField``
would also drop the foreign key's constraint and add it again, validating every row under lock.
"""

from django.db import migrations, models


def drop_key_index(
    *, model_name: str, name: str, table: str, index: str, field: models.ForeignKey
) -> migrations.SeparateDatabaseAndState:
    """The migration step for the foreign key ``name`` of ``model_name`` (its table ``table``),
    whose index on ``<name>_id`` alone Django named ``index``; ``field``: the key as the model now
    declares it (``db_index=False``)."""
    return migrations.SeparateDatabaseAndState(
        database_operations=[
            migrations.RunSQL(
                f"DROP INDEX IF EXISTS {index}", reverse_sql=f"CREATE INDEX {index} ON {table} ({name}_id)"
            )
        ],
        state_operations=[migrations.AlterField(model_name=model_name, name=name, field=field)],
    )
