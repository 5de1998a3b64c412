"""On-call and notifications: what the claim and outcome transactions of a delivery tick share.
Counters, outbox rows saved in one statement, and ledger entries written together at the end."""

from __future__ import annotations

from dataclasses import dataclass

from audit.services import record_many
from incidents.realtime import publish_incidents_after_commit
from notifications.models import Notification
from opsplatform.core.prepared import bound_cursor


@dataclass
class DeliveryStats:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    dead: int = 0
    cancelled: int = 0
    lost: int = 0
    # Not a counter: set when a tick ran out of its time budget with rows still due.
    out_of_time = False

    def add(self, other: DeliveryStats) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


class LedgerBatch:
    """Ledger entries of one transaction, written together at its end.

    Each organization's chain is locked from its first entry until commit, so entries are written
    last (``flush``), after the outbox rows are saved: the lock is held for the inserts only. Then
    one realtime push per incident, after commit.
    """

    def __init__(self):
        self.entries = []

    def record(self, row: Notification, verb: str, data: dict) -> None:
        base = {"notification": row.pk, "medium": row.medium, "to": row.destination}
        self.entries.append((row.incident, verb, {**base, **data}))

    def flush(self) -> None:
        record_many(job="delivery", entries=self.entries)
        publish_incidents_after_commit((incident, verb) for incident, verb, _ in self.entries)
        self.entries = []


_COLUMN_TYPES = {
    "status": "varchar",
    "attempts": "integer",
    "lease_until": "timestamptz",
    "claim_token": "uuid",
    "next_attempt_at": "timestamptz",
    "last_error": "varchar",
    "updated_at": "timestamptz",
    "last_status_code": "integer",
    "sent_at": "timestamptz",
}


def save_rows(rows: list[Notification], fields: list[str], *, fenced: bool = False) -> set[int]:
    """Save ``fields`` of many rows in one UPDATE … FROM (VALUES …) (Django's bulk_update builds a
    CASE per column and row, which costs more than the deliveries themselves).

    ``fenced``: only rows still ``sending`` under the claim token the row object carries are written
    (the claim token is the fencing token of a delivery). Returns the ids written.
    """
    if not rows:
        return set()
    columns = ["claim_token_was", *fields] if fenced else fields
    types = {**_COLUMN_TYPES, "claim_token_was": "uuid"}
    row_sql = "(%s::bigint, " + ", ".join(f"%s::{types[f]}" for f in columns) + ")"
    params = []
    for row in rows:
        params += [row.pk, *(getattr(row, f) for f in columns)]
    fence = " AND n.claim_token = v.claim_token_was AND n.status = 'sending'" if fenced else ""
    sql = (
        f"UPDATE {Notification._meta.db_table} AS n SET "  # noqa: S608 - names are our own constants
        + ", ".join(f"{f} = v.{f}" for f in fields)
        + f" FROM (VALUES {', '.join([row_sql] * len(rows))}) AS v(id, {', '.join(columns)})"
        + f" WHERE n.id = v.id{fence} RETURNING n.id"
    )
    with bound_cursor(params) as cursor:
        cursor.execute(sql, params)
        return {row[0] for row in cursor.fetchall()}
