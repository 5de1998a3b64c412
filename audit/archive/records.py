"""A ledger entry as an archive record (one JSON object) and back. Every field the digest covers is
kept as the database held it, so the archived chain verifies with the same code as the live one."""

from __future__ import annotations

from datetime import datetime

from audit.hashing import CONTENT_FIELDS
from audit.models import LedgerEntry

# Every field the digest covers (audit.hashing.CONTENT_FIELDS), the entry's place in the chain, and
# which hash version it uses.
FIELDS = ("id", *CONTENT_FIELDS, "sequence", "prev_hash", "entry_hash", "hash_version")


def to_record(entry: LedgerEntry) -> dict:
    record = {name: getattr(entry, "pk" if name == "id" else name) for name in FIELDS}
    record["created_at"] = entry.created_at.isoformat(timespec="microseconds")
    return record


def from_record(record: dict) -> LedgerEntry:
    values = {name: record.get(name) for name in FIELDS if name != "id"}
    values["created_at"] = datetime.fromisoformat(record["created_at"])
    # Archives written before hash versions existed hold version-1 entries only.
    values["hash_version"] = record.get("hash_version") or 1
    entry = LedgerEntry(**values)
    entry.pk = record.get("id")
    return entry
