"""Database errors at a chosen statement, for the code that must survive an outage: a real database
behind, one statement failing as a dropped connection makes it fail."""

from django.db import OperationalError


def fail_first(fragment: str, log: list[str] | None = None, *, times: int = 1):
    """An execute wrapper (``connection.execute_wrapper``): the first ``times`` statements containing
    ``fragment`` fail before they reach the database, as on a dropped connection; every statement
    is appended to ``log``."""
    state = {"failed": 0}

    def wrapper(execute, sql, params, many, context):
        if log is not None:
            log.append(sql)
        if fragment in sql and state["failed"] < times:
            state["failed"] += 1
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    return wrapper
