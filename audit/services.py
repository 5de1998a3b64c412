"""Appending to the ledger. Callers are already inside their own transaction; the entry commits
or rolls back with the change it describes."""

import zlib

from django.db import connection, transaction
from django.utils import timezone

from audit.hashing import GENESIS_HASH, entry_digest, normalize_data
from audit.models import LedgerEntry
from opsplatform.core.actors import Actor
from opsplatform.core.prepared import fetchone_prepared, insert_params, insert_sql
from opsplatform.realtime.groups import (
    organization_group,
    publish_after_commit,
    recheck_access_after_commit,
)

# Advisory-lock namespace for "the chain of organization N": keeps it apart from other lock users.
_CHAIN_LOCK_NAMESPACE = zlib.crc32(b"opsplatform.core.ledger") & 0x7FFFFFFF


# Prepared on the connection (opsplatform.core.prepared): every change of every app appends an entry.
_LOCK_SQL = "SELECT pg_advisory_xact_lock(%s, %s)"
_LAST_SQL = (
    "SELECT sequence, entry_hash FROM audit_ledgerentry WHERE organization_id = %s"
    " ORDER BY sequence DESC LIMIT 1"
)
_LAST_PLATFORM_SQL = (
    "SELECT sequence, entry_hash FROM audit_ledgerentry WHERE organization_id IS NULL"
    " ORDER BY sequence DESC LIMIT 1"
)
# Only asked when a chain has no live entry: the archive keeps each chain's newest entry, so this
# is a new chain, or one whose tail went missing; either way it must not restart at the genesis.
_CHECKPOINT_SQL = (
    "SELECT last_sequence, last_hash FROM audit_ledgercheckpoint"
    " WHERE organization_id IS NOT DISTINCT FROM %s ORDER BY last_sequence DESC LIMIT 1"
)


def _target_of(target) -> tuple[str, str]:
    if target is None:
        return "", ""
    return f"{target._meta.app_label}.{target._meta.model_name}", str(target.pk)


class _ActorsOrganization:
    """Default of ``record(organization=…)``: the actor's organization. Passing ``None`` explicitly
    writes to the platform chain."""


ACTORS_ORGANIZATION = _ActorsOrganization()


def _chain_head(org_id) -> tuple[int, str]:
    """Lock the chain of ``org_id`` until commit and read its head: sequence and hash of its last entry."""
    # Serialize writers of one chain until commit: sequence and prev_hash must not fork. The lock
    # is per organization, so tenants never wait on each other.
    fetchone_prepared(_LOCK_SQL, [_CHAIN_LOCK_NAMESPACE, org_id or 0])
    last = (
        fetchone_prepared(_LAST_SQL, [org_id])
        if org_id is not None
        else fetchone_prepared(_LAST_PLATFORM_SQL, [])
    )
    if last is None:
        with connection.cursor() as cursor:
            cursor.execute(_CHECKPOINT_SQL, [org_id])
            last = cursor.fetchone()
    return (last[0], last[1]) if last else (0, GENESIS_HASH)


def _entry_fields(org_id, actor: Actor, *, verb: str, target, target_type: str, target_id, data) -> dict:
    if target is not None:
        target_type, target_id = _target_of(target)
    return {
        "organization_id": org_id,
        "actor_type": actor.kind,
        "actor_id": actor.ledger_id[:64],
        "actor_label": actor.label[:200],
        "verb": verb,
        "target_type": target_type,
        "target_id": str(target_id),
        "data": normalize_data(data),
        "created_at": timezone.now(),
    }


def _chained(org_id, pending: list[dict]) -> list[LedgerEntry]:
    """Under the chain's lock: the entries of ``pending`` (fields without sequence and hashes),
    numbered and hashed on from the chain's head, in order."""
    sequence, prev_hash = _chain_head(org_id)
    entries = []
    for fields in pending:
        sequence += 1
        fields = {**fields, "sequence": sequence, "prev_hash": prev_hash}  # noqa: PLW2901 - a copy
        entry = LedgerEntry(**fields, entry_hash=entry_digest(**fields))
        prev_hash = entry.entry_hash
        entries.append(entry)
    return entries


def _publish(entry: LedgerEntry) -> None:
    if entry.organization_id is not None:
        publish_after_commit(
            organization_group(entry.organization_id),
            {
                "kind": "ledger",
                "id": entry.pk,
                "sequence": entry.sequence,
                "verb": entry.verb,
                "target_type": entry.target_type,
                "target_id": entry.target_id,
            },
        )


@transaction.atomic
def record(
    *,
    actor: Actor,
    verb: str,
    target=None,
    target_type: str = "",
    target_id: str = "",
    data: dict | None = None,
    organization=ACTORS_ORGANIZATION,
    recheck_access_of: int | None = None,
) -> LedgerEntry:
    """Append one entry to the organization's chain (``actor.organization`` unless given;
    ``organization=None`` is the platform chain).

    ``recheck_access_of`` names the person (user id) whose access this change may have ended: after
    commit, each of their live sockets re-check it. Accounts sit below the realtime layer and
    reach it only through this port, with the entry that records the change.
    """
    if organization is ACTORS_ORGANIZATION:
        organization = actor.organization
    org_id = organization.pk if organization is not None else None
    fields = _entry_fields(
        org_id, actor, verb=verb, target=target, target_type=target_type, target_id=target_id, data=data
    )
    (entry,) = _chained(org_id, [fields])
    (entry.pk,) = fetchone_prepared(insert_sql(LedgerEntry, "RETURNING id"), insert_params(entry))
    entry._state.adding, entry._state.db = False, connection.alias
    if recheck_access_of is not None:
        # Registered before the entry's own push: on-commit callbacks run in order, so the
        # person's sockets re-check (and a removed member's close) before this entry goes out.
        recheck_access_after_commit(recheck_access_of)
    _publish(entry)
    return entry


@transaction.atomic
def record_many(*, entries, job: str = "", actor: Actor | None = None) -> list[LedgerEntry]:
    """Append entries ``(target, verb, data)``: each as ``actor`` when given (all of its
    organization), else as ``Actor.system(job)`` of the target's organization.

    One lock, one read of the chain head and one INSERT per organization, however many entries:
    the chain is held for a few round trips, not three per entry. Organization by organization, in
    id order: every transaction takes the chains' locks in the same order, so two concurrent
    batches cannot deadlock on them. Call it last in the transaction: each chain stays locked until
    commit.
    """
    by_org: dict[int, list] = {}
    for target, verb, data in entries:
        by_org.setdefault(target.organization_id, []).append((target, verb, data))
    written = []
    for org_id in sorted(by_org):
        items = by_org[org_id]
        by = actor or Actor.system(job, organization=items[0][0].organization)
        pending = [
            _entry_fields(org_id, by, verb=verb, target=target, target_type="", target_id="", data=data)
            for target, verb, data in items
        ]
        chained = _chained(org_id, pending)
        LedgerEntry.objects.bulk_create(chained)
        for entry in chained:
            _publish(entry)
        written.extend(chained)
    return written
