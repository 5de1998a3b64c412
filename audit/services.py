"""Appending to the ledger. Callers are already inside their own transaction; the entry commits
or rolls back with the change it describes."""

import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit.chain import CHAIN_LOCK_NAMESPACE, pushed
from audit.hashing import GENESIS_HASH, canonical_json, content_digest, normalize_data
from audit.models import LedgerEntry
from audit.sealing import sealer
from opsplatform.core.actors import Actor, ActorKind
from opsplatform.realtime.groups import (
    publish_after_commit,
    publish_many_after_commit,
    recheck_access_after_commit,
)

# One round trip under the chain's lock (migration 0006); prepared on the connection
# (opsplatform.core.prepared): every change of every app appends an entry.
_APPEND_SQL = (
    "SELECT out_id, out_sequence, out_prev, out_hash FROM audit_ledger_append("
    "%s, %s, %s, %b::text[], %b::text[], %b::text[], %b::text[], %b::text[], %b::text[], %b::text[],"
    " %b::timestamptz[], %b::text[])"
)
# The same entries staged without the lock (migration 0007): the sealer chains them after commit.
_STAGE_SQL = (
    "SELECT out_id FROM audit_ledger_stage("
    "%s, %b::text[], %b::text[], %b::text[], %b::text[], %b::text[], %b::text[], %b::text[],"
    " %b::timestamptz[], %b::text[])"
)
_COLUMNS = ("actor_type", "actor_id", "actor_label", "verb", "target_type", "target_id")


def _target_of(target) -> tuple[str, str]:
    if target is None:
        return "", ""
    return f"{target._meta.app_label}.{target._meta.model_name}", str(target.pk)


class _ActorsOrganization:
    """Default of ``record(organization=…)``: the actor's organization. Passing ``None`` explicitly
    writes to the platform chain."""


ACTORS_ORGANIZATION = _ActorsOrganization()


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


def _columns(pending: list[dict]) -> list:
    """The entries of ``pending`` as the SQL functions' arrays, content digests last."""
    for fields in pending:
        fields["content"] = content_digest(**fields)
    return [
        *([fields[name] for fields in pending] for name in _COLUMNS),
        [canonical_json(fields["data"]) for fields in pending],
        [fields["created_at"] for fields in pending],
        [fields.pop("content") for fields in pending],
    ]


def _run(sql: str, params: list) -> list[tuple]:
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        return cursor.fetchall()


def _loaded(fields: dict, pk: int, **chain) -> LedgerEntry:
    entry = LedgerEntry(pk=pk, **fields, **chain, hash_version=2)
    entry._state.adding, entry._state.db = False, connection.alias
    return entry


def _append(org_id, pending: list[dict]) -> list[LedgerEntry]:
    """Append the entries of ``pending`` (fields without sequence and hashes) to the chain of
    ``org_id``, in order, in one statement: the chain is locked until commit, and numbered and hashed
    on from its head by the database (``audit_ledger_append``)."""
    rows = _run(_APPEND_SQL, [CHAIN_LOCK_NAMESPACE, org_id, GENESIS_HASH, *_columns(pending)])
    return [
        _loaded(fields, pk, sequence=sequence, prev_hash=prev_hash, entry_hash=entry_hash)
        for fields, (pk, sequence, prev_hash, entry_hash) in zip(pending, rows, strict=True)
    ]


def _stage(org_id, pending: list[dict]) -> list[LedgerEntry]:
    """Write the entries of ``pending`` without their place in the chain (no lock, no wait on other
    writers); after commit, this process's sealer chains them (``audit.sealing``), and the beat sweep
    does if this process dies first."""
    columns = _columns(pending)
    rows = _run(_STAGE_SQL, [org_id, *columns])
    transaction.on_commit(lambda: sealer().request(org_id))
    return [
        _loaded(fields, pk, staged_digest=digest)
        for fields, (pk,), digest in zip(pending, rows, columns[-1], strict=True)
    ]


def _pushed(entry: LedgerEntry) -> tuple[str, dict]:
    return pushed(
        entry.organization_id,
        pk=entry.pk,
        sequence=entry.sequence,
        verb=entry.verb,
        target_type=entry.target_type,
        target_id=entry.target_id,
    )


# No savepoint of its own: it runs inside the caller's transaction on every hot path, where a
# savepoint and its release are two more round trips with the caller's row locks held; a failure
# here fails the caller's transaction anyway.
@transaction.atomic(savepoint=False)
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
    ``organization=None`` is the platform chain). A system job's entry is staged instead, with
    ``LEDGER_SEAL_DEFERRED`` (see ``record_many``): its sequence is set when the sealer chains it.

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
    if settings.LEDGER_SEAL_DEFERRED and actor.kind == ActorKind.SYSTEM and recheck_access_of is None:
        # A job's entry is staged, as the hot writers' are (``record_many``): no one waits on a
        # page to see it, and appended here it would hold the chain from this entry until the
        # job's commit (a playbook run, an automation step), every other writer of the chain and
        # the sealers waiting behind it. The sealer pushes it once chained.
        (entry,) = _stage(org_id, [fields])
        return entry
    (entry,) = _append(org_id, [fields])
    if recheck_access_of is not None:
        # Registered before the entry's own push: on-commit callbacks run in order, so the
        # person's sockets re-check (and a removed member's close) before this entry goes out.
        recheck_access_after_commit(recheck_access_of)
    if org_id is not None:
        publish_after_commit(*_pushed(entry))
    return entry


@transaction.atomic(savepoint=False)  # as ``record``
def record_many(*, entries, job: str = "", actor: Actor | None = None) -> list[LedgerEntry]:
    """Append entries ``(target, verb, data)``: each as ``actor`` when given (all of its
    organization), else as ``Actor.system(job)`` of the target's organization.

    With ``LEDGER_SEAL_DEFERRED`` (the default), the entries are staged: written in this
    transaction, chained by the sealer just after it commits, so these writers (ingestion,
    escalation, delivery: the hot paths) never wait on one another for the chain. Otherwise they are
    appended here, one statement per organization, however many entries: the chain is held for one
    round trip and the commit, not three round trips per entry. Organization by organization, in
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
        if settings.LEDGER_SEAL_DEFERRED:
            # Pushed by the sealer, with their sequences, once they are chained.
            written.extend(_stage(org_id, pending))
            continue
        chained = _append(org_id, pending)
        # One trip to the channel layer for the batch, not one per entry.
        publish_many_after_commit([_pushed(entry) for entry in chained])
        written.extend(chained)
    return written
