"""The claim of a delivery tick as one statement: due rows marked ``sending`` under a lease and a
claim token, and read back with everything a send needs (the incident with its organization, service
and team; the channel, contact method and recipient).

Measured during a storm, the claim was a third of a delivery tick's own time: ``BEGIN``, the
claiming ``UPDATE``, a six-join read of the claimed rows, ``COMMIT``, each a round trip on which the
tick's one thread waits. As one statement it needs no transaction around it (a statement is atomic
on its own) and is kept prepared on the connection. The locking ``SELECT`` runs once, in a CTE: a
sub-select under "WHERE id IN (…)" may be re-run by the planner (a nested-loop semi-join), and every
run with SKIP LOCKED and LIMIT can pick other rows.
"""

from __future__ import annotations

from functools import lru_cache

from django.db import connection

from notifications.models import Notification
from opsplatform.core.prepared import fetchall_prepared, model_from_row, select_columns

# Read with each claimed row, as the ORM's select_related would: (owner, its foreign key).
RELATED = (
    ("notification", "incident"),
    ("incident", "organization"),
    ("incident", "service"),
    ("incident", "team"),
    ("notification", "channel"),
    ("notification", "contact_method"),
    ("notification", "recipient"),
)


def _models() -> dict:
    models = {"notification": Notification}
    for owner, name in RELATED:
        models[name] = models[owner]._meta.get_field(name).related_model
    return models


@lru_cache(maxsize=1)
def claim_sql() -> str:
    """Parameters: now, media to skip, limit, lease until, claim token, now."""
    models = _models()
    table = Notification._meta.db_table
    quote = connection.ops.quote_name
    joins = []
    for owner, name in RELATED:
        field = models[owner]._meta.get_field(name)
        target = models[name]
        # Outer joins throughout: a null reference reads as a row of NULLs, made None below.
        joins.append(
            f"LEFT JOIN {target._meta.db_table} {name}"
            f" ON {name}.{quote(target._meta.pk.column)} = {owner}.{quote(field.column)}"
        )
    columns = ", ".join(select_columns(model, alias) for alias, model in models.items())
    # Identifiers come from model metadata; every value is a parameter.
    return (
        f"WITH due AS (SELECT id FROM {table}"  # noqa: S608
        "   WHERE status IN ('pending', 'failed') AND next_attempt_at <= %s AND NOT (medium = ANY(%s))"
        "   ORDER BY next_attempt_at, id LIMIT %s FOR UPDATE SKIP LOCKED),"
        f" claimed AS (UPDATE {table} AS n SET status = 'sending', attempts = n.attempts + 1,"
        "   lease_until = %s, claim_token = %s, updated_at = %s FROM due WHERE n.id = due.id RETURNING n.*)"
        f" SELECT {columns} FROM claimed notification {' '.join(joins)}"
        " ORDER BY notification.next_attempt_at, notification.id"
    )


def claim_rows(now, media_to_skip, limit: int, lease_until, token) -> list[Notification]:
    """Claim up to ``limit`` due rows (in the order they fell due) and return them, their related
    rows attached."""
    rows = fetchall_prepared(claim_sql(), [now, list(media_to_skip), limit, lease_until, token, now])
    # During a storm the rows of a claim share their organization, service, team and channel (and
    # an incident its pages): each is built once per claim and shared, as prefetch_related shares.
    built: dict = {}
    return [_hydrate(row, built) for row in rows]


@lru_cache(maxsize=1)
def _layout() -> tuple:
    """(alias, model, its first column in a row, its column count, its primary key's column)."""
    layout, start = [], 0
    for alias, model in _models().items():
        fields = model._meta.concrete_fields
        layout.append((alias, model, start, len(fields), fields.index(model._meta.pk)))
        start += len(fields)
    return tuple(layout)


def _hydrate(row: tuple, built: dict) -> Notification:
    objects = {}
    for alias, model, start, count, pk_at in _layout():
        values = row[start : start + count]
        pk = values[pk_at]
        if pk is None:
            objects[alias] = None
        elif alias == "notification":
            objects[alias] = model_from_row(model, values)
        else:
            if (alias, pk) not in built:
                built[alias, pk] = model_from_row(model, values)
            objects[alias] = built[alias, pk]
    for owner, name in RELATED:
        # Attached as select_related attaches them: no query when the send reads them. A shared
        # owner is attached its (shared) related row again: the same object, so no harm.
        setattr(objects[owner], name, objects[name])
    return objects["notification"]
