"""The indexes a table has, for the tests of which ones the storm's tables keep."""

from django.db import connection


def table_indexes(table: str) -> dict[str, str]:
    """Each index of ``table``, by name: its definition (``pg_indexes.indexdef``)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [table])
        return dict(cursor.fetchall())
