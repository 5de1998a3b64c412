"""Reading archived spans back: into a scratch table for an investigation, or for a page."""

from __future__ import annotations

import re
from collections.abc import Iterator

from django.db import connection, transaction
from psycopg import sql
from psycopg.types.json import Jsonb

from audit.archive.archiver import chain_filter
from audit.archive.backends import backend_named
from audit.archive.records import FIELDS
from audit.models import LedgerCheckpoint

SCRATCH_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")


def archived_records(organization_id, *, first: int = 1, last: int | None = None) -> Iterator[dict]:
    """The archived entries of the chain between ``first`` and ``last``, in sequence order."""
    spans = LedgerCheckpoint.objects.filter(
        **chain_filter(organization_id), last_sequence__gte=first, removal__isnull=True
    ).order_by("last_sequence")
    if last is not None:
        spans = spans.filter(first_sequence__lte=last)
    for checkpoint in spans:
        backend = backend_named(checkpoint.backend)
        for record in backend.read_span(
            organization_id=organization_id,
            location=checkpoint.location,
            first=checkpoint.first_sequence,
            last=checkpoint.last_sequence,
        ):
            if record["sequence"] < first:
                continue
            if last is not None and record["sequence"] > last:
                return
            yield record


def restore_to_scratch(organization_id, *, table: str, first: int = 1, last: int | None = None) -> int:
    """Copy archived entries into ``ledger_restore_<table>`` (created like the ledger, without its
    triggers or constraints, so an investigation can query and annotate it); rows copied."""
    if not SCRATCH_NAME.match(table):
        raise ValueError("the scratch table name takes lowercase letters, digits and underscores")
    name = sql.Identifier(f"ledger_restore_{table}")
    insert = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
        name,
        sql.SQL(", ").join(sql.Identifier(field) for field in FIELDS),
        sql.SQL(", ").join(sql.Placeholder() * len(FIELDS)),
    )
    copied = 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("CREATE TABLE IF NOT EXISTS {} (LIKE audit_ledgerentry INCLUDING DEFAULTS)").format(name)
        )
        batch = []
        for record in archived_records(organization_id, first=first, last=last):
            row = [record[field] for field in FIELDS]
            row[FIELDS.index("data")] = _json(record["data"])
            batch.append(row)
            if len(batch) >= 1000:
                cursor.executemany(insert, batch)
                copied += len(batch)
                batch = []
        if batch:
            cursor.executemany(insert, batch)
            copied += len(batch)
    return copied


def _json(value):
    return Jsonb(value)
