"""One event log: what it stores, and the calls writers and readers make on it."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.apps import apps
from django.conf import settings
from django.db import models

_REGISTRY: dict[str, EventLog] = {}


def backend_name() -> str:
    return "mongo" if settings.EVENT_LOGS_BACKEND == "mongo" else "postgres"


def registered() -> dict[str, EventLog]:
    return dict(_REGISTRY)


def time_ordered_int() -> int:
    """A 63-bit id whose high bits are the time in milliseconds: rows written in MongoDB get ids of
    the same type as PostgreSQL's, ordered like them, and chosen before the write so a retried
    batch cannot store an entry twice."""
    return (int(time.time() * 1000) << 22) | int.from_bytes(os.urandom(3), "big") >> 2


@dataclass(frozen=True)
class EventLog:
    # The retention kind (audit/retention/registry.py) and the MongoDB collection name.
    name: str
    model: str  # "app_label.ModelName": the PostgreSQL table, and the shape of every entry read back
    time_field: str
    fields: tuple[str, ...]  # attnames stored besides the id
    # Keys that make an entry unique besides its id (a retried attempt is stored once).
    unique: tuple[str, ...] = ()
    # PostgreSQL write for rows of this log (default: bulk_create ignoring conflicts).
    pg_insert: Callable[[list], None] | None = None
    # The organization of a row, for the rows that do not carry it (check results: the monitor's).
    organization_lookup: str = "organization_id"
    # MongoDB indexes besides the TTL and (organization, time) ones: tuples of attnames, newest first
    # on the time field.
    indexes: tuple[tuple[str, ...], ...] = ()

    def __post_init__(self):
        _REGISTRY[self.name] = self

    @property
    def model_class(self) -> type[models.Model]:
        return apps.get_model(self.model)

    @property
    def backend(self):
        from audit.eventlog import backends

        return backends.get(backend_name())

    def new_id(self):
        return time_ordered_int()

    # --- writes ----------------------------------------------------------------------------

    def append(self, rows: list[models.Model], *, organization_id: int | None = None) -> None:
        """Store ``rows`` (unsaved instances): in PostgreSQL inside the caller's transaction, in
        MongoDB after it commits (and never if it rolls back). ``organization_id`` for rows that do
        not carry their own."""
        if rows:
            self.backend.append(self, rows, organization_id=organization_id)

    # --- reads -----------------------------------------------------------------------------

    def find(
        self, filters: dict, *, before: tuple | None = None, limit: int | None = 50, offset: int = 0
    ) -> list:
        """Entries matching ``filters`` (attname, or attname__in / __gte / __lt), newest first;
        ``before`` is a (time, id) keyset position. Entries are unsaved model instances."""
        return self.backend.find(self, filters, before=before, limit=limit, offset=offset)

    def listing(self, filters: dict) -> Listing:
        """Newest first, sliceable like a queryset (for the pages' paginators)."""
        return Listing(self, filters)

    def get(self, filters: dict):
        found = self.find(filters, limit=1)
        return found[0] if found else None

    def count(self, filters: dict) -> int:
        return self.backend.count(self, filters)

    def count_by(self, field: str, filters: dict) -> dict:
        """{value of ``field``: entries} for the entries matching ``filters``."""
        return self.backend.count_by(self, field, filters)

    def in_order(self, filters: dict, *, order: tuple[str, ...]) -> list:
        """Every entry matching ``filters`` in ``order`` (small sets: one notification's attempts)."""
        return self.backend.in_order(self, filters, order=order)

    def between(self, since: datetime, until: datetime) -> list:
        window = {f"{self.time_field}__gte": since, f"{self.time_field}__lt": until}
        return self.backend.find(self, window, before=None, limit=None, offset=0)

    # --- retention -------------------------------------------------------------------------

    def expired_queryset(self, organization_id: int | None, cutoff: datetime):
        lookup = {self.organization_lookup: organization_id, f"{self.time_field}__lt": cutoff}
        return self.model_class.objects.filter(**lookup)


class Listing:
    def __init__(self, log: EventLog, filters: dict):
        self.log, self.filters = log, filters

    def __getitem__(self, window: slice) -> list:
        start, stop = window.start or 0, window.stop
        return self.log.find(self.filters, limit=None if stop is None else stop - start, offset=start)
