"""The canonical form of an entry and its SHA-256: shared by the writer and the verifier."""

import hashlib
import json

GENESIS_HASH = "0" * 64


def canonical_json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _as_jsonb_returns(value):
    # JSONB keeps numbers as NUMERIC: a float Python writes in exponent form (1e+16, any integral
    # float from 1e16 up) comes back as an int, and -0.0 comes back as 0.0. Hashing what the writer
    # holds instead of what the verifier will read would flag an untouched entry as altered.
    if isinstance(value, float):
        if value == 0:
            return 0.0
        if value.is_integer() and "e" in repr(value):
            return int(value)
        return value
    if isinstance(value, dict):
        return {key: _as_jsonb_returns(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_jsonb_returns(item) for item in value]
    return value


def normalize_data(data) -> dict:
    """What JSONB will give back: hashing the round-tripped form keeps verification stable."""
    return _as_jsonb_returns(json.loads(canonical_json(data or {})))


def entry_digest(
    *,
    organization_id,
    sequence,
    actor_type,
    actor_id,
    actor_label,
    verb,
    target_type,
    target_id,
    data,
    created_at,
    prev_hash,
) -> str:
    payload = canonical_json(
        {
            "organization": organization_id,
            "sequence": sequence,
            "actor": [actor_type, actor_id, actor_label],
            "verb": verb,
            "target": [target_type, target_id],
            "data": data,
            "created_at": created_at.isoformat(timespec="microseconds"),
            "prev": prev_hash,
        }
    )
    return hashlib.sha256(payload.encode()).hexdigest()


# Version 2 (the default since the one-statement append): the content is hashed on its own, and
# the chain link is ``sha256("<prev_hash>:<sequence>:<content digest>")``, simple enough for the
# database to compute under the chain's lock (``audit_ledger_append``, migration 0006) so a writer
# holds the chain for one round trip. Version 1 entries keep their own digest (``entry_digest``).
HASH_VERSION = 2


def content_digest(
    *, organization_id, actor_type, actor_id, actor_label, verb, target_type, target_id, data, created_at
) -> str:
    payload = canonical_json(
        {
            "organization": organization_id,
            "actor": [actor_type, actor_id, actor_label],
            "verb": verb,
            "target": [target_type, target_id],
            "data": data,
            "created_at": created_at.isoformat(timespec="microseconds"),
        }
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def chain_link(prev_hash: str, sequence: int, content: str) -> str:
    """The version-2 entry hash; ``audit_ledger_append`` computes the same in SQL."""
    return hashlib.sha256(f"{prev_hash}:{sequence}:{content}".encode()).hexdigest()


# The fields an entry's content digest covers (everything but its place in the chain).
CONTENT_FIELDS = (
    "organization_id",
    "actor_type",
    "actor_id",
    "actor_label",
    "verb",
    "target_type",
    "target_id",
    "data",
    "created_at",
)


def digest_of(entry) -> str:
    """What ``entry.entry_hash`` must be, in the entry's own hash version."""
    content = {name: getattr(entry, name) for name in CONTENT_FIELDS}
    if getattr(entry, "hash_version", 1) == 1:
        return entry_digest(**content, sequence=entry.sequence, prev_hash=entry.prev_hash)
    return chain_link(entry.prev_hash, entry.sequence, content_digest(**content))
