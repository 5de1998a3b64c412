"""Where archived ledger spans live, behind one interface.

* ``file`` (the default): one gzip-compressed JSON Lines file per span under ``LEDGER_ARCHIVE_DIR``,
  written to a temporary name, flushed to disk and renamed, so a span file is whole or absent.
* ``mongo`` (when ``MONGO_URL`` is set): one append-only collection per chain with a unique index
  on ``sequence``, written with majority write concern and journaling. The application's role
  needs only ``insert`` and ``find`` there (docs/data-lifecycle.md).

A checkpoint names the backend and location of its span, so spans written before a switch of
backend stay readable.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol

from django.conf import settings

from opsplatform.core import mongo


class ArchiveMissing(Exception):
    """The span is not where its checkpoint says it is."""


class ArchiveBackend(Protocol):
    name: str

    def write_span(
        self, *, organization_id: int | None, first: int, last: int, records: Iterable[dict]
    ) -> str:
        """Store the span's records (in sequence order); returns its location."""

    def read_span(
        self, *, organization_id: int | None, location: str, first: int, last: int
    ) -> Iterator[dict]:
        """The span's records in the order they were written; ``ArchiveMissing`` if it is gone."""

    def remove_span(self, *, organization_id: int | None, location: str, first: int, last: int) -> None:
        """Delete the span (the end of its own retention)."""


def chain_name(organization_id: int | None) -> str:
    return "platform" if organization_id is None else f"org-{organization_id}"


class FileArchive:
    name = "file"

    def __init__(self, root: Path | None = None):
        self.root = Path(root or settings.LEDGER_ARCHIVE_DIR)

    def write_span(self, *, organization_id, first, last, records) -> str:
        location = f"{chain_name(organization_id)}/{first:012d}-{last:012d}.jsonl.gz"
        path = self.root / location
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        with open(partial, "wb") as raw:
            # mtime=0: the same span compresses to the same bytes, whenever it is written.
            with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as handle:
                for record in records:
                    handle.write(json.dumps(record, sort_keys=True, ensure_ascii=False).encode() + b"\n")
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, path)
        return location

    def read_span(self, *, organization_id, location, first, last) -> Iterator[dict]:
        path = self.root / location
        try:
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                for number, line in enumerate(handle, start=1):
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise ArchiveMissing(f"{path} line {number} is not JSON") from exc
        except FileNotFoundError as exc:
            raise ArchiveMissing(f"archive file {path} is missing") from exc
        except (OSError, EOFError) as exc:
            raise ArchiveMissing(f"archive file {path} is unreadable: {exc}") from exc

    def remove_span(self, *, organization_id, location, first, last) -> None:
        (self.root / location).unlink(missing_ok=True)


class MongoArchive:
    name = "mongo"

    def _collection(self, organization_id):
        from pymongo import ASCENDING
        from pymongo.write_concern import WriteConcern

        collection = mongo.database()[f"ledger_archive_{chain_name(organization_id).replace('-', '_')}"]
        collection.create_index([("sequence", ASCENDING)], unique=True, name="sequence_unique")
        return collection.with_options(write_concern=WriteConcern(w="majority", j=True))

    def write_span(self, *, organization_id, first, last, records) -> str:
        from pymongo.errors import BulkWriteError

        collection = self._collection(organization_id)
        batch = []
        for record in records:
            batch.append({**record, "_id": record["sequence"]})
            if len(batch) >= 1000:
                self._insert(collection, batch, BulkWriteError)
                batch = []
        if batch:
            self._insert(collection, batch, BulkWriteError)
        return collection.name

    @staticmethod
    def _insert(collection, batch, bulk_error) -> None:
        try:
            collection.insert_many(batch, ordered=True)
        except bulk_error as exc:
            # A span written before a crash (no checkpoint yet) is written again: the documents already
            # there must be the same ones, or the archive holds something else under these sequences.
            if any(error.get("code") != 11000 for error in exc.details.get("writeErrors", [])):
                raise
            for doc in batch:
                stored = collection.find_one({"_id": doc["_id"]})
                if stored is None:
                    collection.insert_one(doc)
                elif stored != doc:
                    raise ArchiveMissing(
                        f"{collection.name} already holds a different entry {doc['sequence']}"
                    ) from exc

    def read_span(self, *, organization_id, location, first, last) -> Iterator[dict]:
        cursor = (
            mongo.database()[location]
            .find({"sequence": {"$gte": first, "$lte": last}}, {"_id": False})
            .sort("sequence", 1)
        )
        found = False
        for doc in cursor:
            found = True
            yield doc
        if not found:
            raise ArchiveMissing(f"collection {location} holds no entries {first}..{last}")

    def remove_span(self, *, organization_id, location, first, last) -> None:
        mongo.database()[location].delete_many({"sequence": {"$gte": first, "$lte": last}})


def backend_named(name: str) -> ArchiveBackend:
    if name == FileArchive.name:
        return FileArchive()
    if name == MongoArchive.name:
        return MongoArchive()
    raise ArchiveMissing(f"unknown archive backend {name!r}")


def current_backend() -> ArchiveBackend:
    return MongoArchive() if mongo.enabled() else FileArchive()
