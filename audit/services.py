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
    publish_many_after_commit,
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


def _chain_tail(org_id) -> tuple[int, str]:
    """Lock the chain until commit, then the (sequence, prev_hash) its next entry takes."""
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
    return (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)


def _entry(*, actor, org_id, sequence, prev_hash, verb, target_type, target_id, data) -> LedgerEntry:
    fields = {
        "organization_id": org_id,
        "sequence": sequence,
        "actor_type": actor.kind,
        "actor_id": actor.ledger_id[:64],
        "actor_label": actor.label[:200],
        "verb": verb,
        "target_type": target_type,
        "target_id": str(target_id),
        "data": normalize_data(data),
        "created_at": timezone.now(),
        "prev_hash": prev_hash,
    }
    return LedgerEntry(**fields, entry_hash=entry_digest(**fields))


def _pushed(entry) -> tuple[str, dict]:
    return organization_group(entry.organization_id), {
        "kind": "ledger",
        "id": entry.pk,
        "sequence": entry.sequence,
        "verb": entry.verb,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
    }


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
    commit, each of their live sockets re-checks it. Accounts sit below the realtime layer and
    reach it only through this port, with the entry that records the change.
    """
    if organization is ACTORS_ORGANIZATION:
        organization = actor.organization
    org_id = organization.pk if organization is not None else None
    if target is not None:
        target_type, target_id = _target_of(target)
    sequence, prev_hash = _chain_tail(org_id)
    entry = _entry(
        actor=actor,
        org_id=org_id,
        sequence=sequence,
        prev_hash=prev_hash,
        verb=verb,
        target_type=target_type,
        target_id=target_id,
        data=data,
    )
    (entry.pk,) = fetchone_prepared(insert_sql(LedgerEntry, "RETURNING id"), insert_params(entry))
    entry._state.adding, entry._state.db = False, connection.alias
    if recheck_access_of is not None:
        # Registered before the entry's own push: on-commit callbacks run in order, so the
        # person's sockets re-check (and a removed member's close) before this entry goes out.
        recheck_access_after_commit(recheck_access_of)
    if org_id is not None:
        publish_after_commit(*_pushed(entry))
    return entry


@transaction.atomic
def record_many(*, job: str, entries) -> None:
    """Append a batch job's entries ``(target, verb, data)``, each as ``Actor.system(job)`` of the
    target's organization: per organization one chain lock, one read of its tail, one INSERT and
    one realtime trip, the entries exactly as ``record`` would have written them one by one.

    Organization by organization, in id order (stable within one): every transaction takes the
    chains' locks in the same order, so two concurrent batches cannot deadlock on them. Call it last
    in the transaction: each chain stays locked from its first entry until commit.
    """
    by_organization = {}
    for target, verb, data in entries:
        by_organization.setdefault(target.organization_id, []).append((target, verb, data))
    for org_id in sorted(by_organization):
        batch = by_organization[org_id]
        actor = Actor.system(job, organization=batch[0][0].organization)
        sequence, prev_hash = _chain_tail(org_id)
        rows = []
        for offset, (target, verb, data) in enumerate(batch):
            target_type, target_id = _target_of(target)
            entry = _entry(
                actor=actor,
                org_id=org_id,
                sequence=sequence + offset,
                prev_hash=prev_hash,
                verb=verb,
                target_type=target_type,
                target_id=target_id,
                data=data,
            )
            prev_hash = entry.entry_hash
            rows.append(entry)
        LedgerEntry.objects.bulk_create(rows)
        if org_id is not None:
            publish_many_after_commit([_pushed(entry) for entry in rows])
