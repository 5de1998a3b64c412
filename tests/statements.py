"""The SQL a block sends, for tests that count round trips: ``with sent() as statements: ...``."""

import contextlib

from django.db import connection


@contextlib.contextmanager
def sent():
    """The statements this thread's connection sends inside the block, in order."""
    statements: list[str] = []

    def collect(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(collect):
        yield statements
