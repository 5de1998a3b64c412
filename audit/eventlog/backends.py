"""The two stores of an event log: PostgreSQL (the log's table) and MongoDB (one collection)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import Count, Q

from audit.eventlog import shipping
from audit.eventlog.expiry import days_for
from opsplatform.core import mongo

OPERATORS = {"in": "$in", "gte": "$gte", "gt": "$gt", "lt": "$lt", "lte": "$lte"}


class PostgresBackend:
    name = "postgres"

    def append(self, log, rows, *, organization_id):
        if log.pg_insert is not None:
            log.pg_insert(rows)
        else:
            # A retried attempt is stored once (its unique key); other logs get their ids back.
            log.model_class.objects.bulk_create(rows, ignore_conflicts=bool(log.unique))

    def _queryset(self, log, filters):
        return log.model_class.objects.filter(**filters)

    def find(self, log, filters, *, before, limit, offset):
        queryset = self._queryset(log, filters)
        if before is not None:
            moment, pk = before
            queryset = queryset.filter(
                Q(**{f"{log.time_field}__lt": moment}) | Q(**{log.time_field: moment, "pk__lt": pk})
            )
        queryset = queryset.order_by(f"-{log.time_field}", "-pk")
        return list(queryset[offset : offset + limit] if limit is not None else queryset[offset:])

    def count(self, log, filters):
        return self._queryset(log, filters).count()

    def count_by(self, log, field, filters):
        rows = self._queryset(log, filters).values(field).annotate(n=Count("pk")).values_list(field, "n")
        return dict(rows.order_by())

    def in_order(self, log, filters, *, order):
        return list(self._queryset(log, filters).order_by(*order))

    def purge(self, log, ctx, delete_batches):
        queryset = log.expired_queryset(ctx.organization_id, ctx.cutoff)
        if ctx.dry_run:
            ctx.removed = queryset.count()
            return True
        return delete_batches(ctx, queryset)


def _stored(value):
    return str(value) if isinstance(value, uuid.UUID) else value


def _read(value):
    # MongoDB keeps milliseconds and, unless asked, hands back naive UTC datetimes.
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def mongo_filter(log, filters: dict) -> dict:
    query: dict = {}
    for key, value in filters.items():
        name, _, op = key.partition("__")
        name = "_id" if name in ("id", "pk") else name
        if op:
            stored = [_stored(v) for v in value] if op == "in" else _stored(value)
            query.setdefault(name, {})[OPERATORS[op]] = stored
        else:
            query[name] = _stored(value)
    return query


class MongoBackend:
    name = "mongo"

    def collection(self, log):
        shipping.ensure_indexes(log)
        return mongo.database()[log.name]

    def to_document(self, log, row, *, organization_id, now) -> dict:
        organization_id = getattr(row, "organization_id", None) or organization_id
        document = {"_id": _stored(row.pk), "organization_id": organization_id}
        for name in log.fields:
            document[name] = _stored(getattr(row, name))
        moment = document[log.time_field] or now
        document["expire_at"] = moment + timedelta(days=days_for(log.name, organization_id))
        return document

    def to_row(self, log, document):
        model = log.model_class
        values = {}
        for name in ("id", *log.fields):
            raw = _read(document.get("_id" if name == "id" else name))
            field = model._meta.get_field(name[:-3] if name.endswith("_id") else name)
            values[name] = raw if raw is None or name.endswith("_id") else field.to_python(raw)
        return model(**values)

    def append(self, log, rows, *, organization_id):
        from django.utils import timezone

        now = timezone.now()
        for row in rows:
            if row.pk is None:
                row.pk = log.new_id()
        documents = [self.to_document(log, row, organization_id=organization_id, now=now) for row in rows]
        # After commit: a rolled-back request leaves nothing behind, as in PostgreSQL.
        transaction.on_commit(lambda: shipping.shipper.submit(log.name, documents))

    def find(self, log, filters, *, before, limit, offset):
        query = mongo_filter(log, filters)
        if before is not None:
            moment, pk = before
            keyset = {
                "$or": [
                    {log.time_field: {"$lt": moment}},
                    {log.time_field: moment, "_id": {"$lt": _stored(pk)}},
                ]
            }
            query = {"$and": [query, keyset]} if query else keyset
        cursor = self.collection(log).find(query).sort([(log.time_field, -1), ("_id", -1)]).skip(offset)
        if limit is not None:
            cursor = cursor.limit(limit)
        return [self.to_row(log, document) for document in cursor]

    def count(self, log, filters):
        return self.collection(log).count_documents(mongo_filter(log, filters))

    def count_by(self, log, field, filters):
        pipeline = [
            {"$match": mongo_filter(log, filters)},
            {"$group": {"_id": f"${field}", "n": {"$sum": 1}}},
        ]
        return {row["_id"]: row["n"] for row in self.collection(log).aggregate(pipeline)}

    def in_order(self, log, filters, *, order):
        sort = [(name.lstrip("-"), -1 if name.startswith("-") else 1) for name in order]
        cursor = self.collection(log).find(mongo_filter(log, filters)).sort(sort)
        return [self.to_row(log, document) for document in cursor]

    def purge(self, log, ctx, delete_batches):
        """What the TTL index has not removed yet: entries of an organization that shortened its
        retention after they were written (their ``expire_at`` still says the old days)."""
        collection = self.collection(log)
        query = {"organization_id": ctx.organization_id, log.time_field: {"$lt": ctx.cutoff}}
        if ctx.dry_run:
            ctx.removed = collection.count_documents(query)
            return True
        while True:
            if ctx.out_of_time():
                return False
            ids = [d["_id"] for d in collection.find(query, {"_id": 1}).limit(ctx.batch_size)]
            if not ids:
                return True
            removed = collection.delete_many({"_id": {"$in": ids}}).deleted_count
            ctx.removed += removed
            ctx.batches += 1
            ctx.progress(f"batch {ctx.batches}: {removed} removed from MongoDB")
            if len(ids) < ctx.batch_size:
                return True


_BACKENDS = {"postgres": PostgresBackend(), "mongo": MongoBackend()}


def get(name: str):
    return _BACKENDS[name]
