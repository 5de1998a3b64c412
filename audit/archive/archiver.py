"""Moving ledger spans older than the hot window to the archive, under signed checkpoints.

For one chain, span by span (``LEDGER_ARCHIVE_SPAN`` entries at most), oldest first:

1. read the span in keyset chunks and check every link while writing it to the archive backend
   (a broken chain is never archived: verify_ledger names the break and the archive waits);
2. write the signed checkpoint (organization, first and last sequence, last hash, count, times,
   where the span went) in its own short transaction;
3. delete the span's rows through ``audit_ledger_delete_archived`` in small batches, each its own
   transaction. The trigger lets a DELETE through only inside that function and only for rows a
   checkpoint covers (migration 0004); a run interrupted here finishes the deletes next time.

The newest entry of a chain always stays in the database, so a chain never runs empty and
``record`` continues it from its last entry as before. One archive run per chain at a time: a
session advisory lock, separate from the writers' per-transaction chain lock, which it never takes.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit.archive import signing
from audit.archive.backends import backend_named, current_backend
from audit.archive.records import to_record
from audit.hashing import GENESIS_HASH
from audit.models import ArchivedSpanRemoval, LedgerCheckpoint, LedgerEntry
from audit.verification import check_entry

_ARCHIVE_LOCK_NAMESPACE = zlib.crc32(b"opsplatform.audit.archive") & 0x7FFFFFFF
READ_CHUNK = 2000


class ArchiveRefused(Exception):
    """The chain is broken where the span would start or inside it: nothing is archived."""


@dataclass
class _SpanStats:
    count: int = 0
    last_hash: str = ""
    first_created_at: object = None
    last_created_at: object = None
    last_id: int = 0
    problems: list = field(default_factory=list)


def chain_filter(organization_id):
    return {"organization__isnull": True} if organization_id is None else {"organization_id": organization_id}


def latest_checkpoint(organization_id) -> LedgerCheckpoint | None:
    return LedgerCheckpoint.objects.filter(**chain_filter(organization_id)).order_by("-last_sequence").first()


def _span_records(organization_id, first, last, prev_hash, stats: _SpanStats) -> Iterator[dict]:
    entries = LedgerEntry.objects.filter(**chain_filter(organization_id), sequence__lte=last).order_by(
        "sequence"
    )
    expected, after = first, first - 1
    while True:
        chunk = list(entries.filter(sequence__gt=after)[:READ_CHUNK])
        for entry in chunk:
            problem = check_entry(entry, expected_sequence=expected, prev_hash=prev_hash)
            if problem:
                raise ArchiveRefused(f"sequence {entry.sequence} (entry id {entry.pk}): {problem}")
            if stats.count == 0:
                stats.first_created_at = entry.created_at
            stats.count += 1
            stats.last_hash, stats.last_created_at, stats.last_id = (
                entry.entry_hash,
                entry.created_at,
                entry.pk,
            )
            expected, prev_hash = entry.sequence + 1, entry.entry_hash
            yield to_record(entry)
        if len(chunk) < READ_CHUNK:
            break
        after = chunk[-1].sequence
    if expected != last + 1:
        raise ArchiveRefused(f"entries {expected}..{last} are missing")


def delete_archived(organization_id, upto: int, *, batch_size: int, ctx=None) -> int:
    """Delete the chain's rows up to ``upto`` (covered by a checkpoint) in batches; rows removed."""
    removed = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT audit_ledger_delete_archived(%s, %s, %s)", [organization_id, upto, batch_size]
            )
            (count,) = cursor.fetchone()
        removed += count
        if ctx is not None and count:
            ctx.removed += count
            ctx.batches += 1
            ctx.progress(f"batch {ctx.batches}: {count} ledger entries removed (up to sequence {upto})")
        if count < batch_size or (ctx is not None and ctx.out_of_time()):
            return removed


def write_checkpoint(
    *, organization_id, first, last, stats: _SpanStats, backend, location
) -> LedgerCheckpoint:
    checkpoint = LedgerCheckpoint(
        organization_id=organization_id,
        first_sequence=first,
        last_sequence=last,
        last_hash=stats.last_hash,
        count=stats.count,
        first_created_at=stats.first_created_at,
        last_created_at=stats.last_created_at,
        created_at=timezone.now(),
        backend=backend.name,
        location=location,
        key_id=signing.current_key_id(),
    )
    checkpoint.signature = signing.sign(checkpoint.signed_payload())
    checkpoint.save()
    return checkpoint


def _archivable_upto(organization_id, cutoff) -> int:
    chain = LedgerEntry.objects.filter(**chain_filter(organization_id))
    tail = chain.order_by("-sequence").values_list("sequence", flat=True).first()
    if tail is None:
        return 0
    old = (
        chain.filter(created_at__lt=cutoff).order_by("-created_at").values_list("sequence", flat=True).first()
    )
    # The newest entry always stays: the chain continues from it.
    return min(old or 0, tail - 1)


class _ChainLock:
    def __init__(self, organization_id):
        self.key = organization_id or 0
        self.held = False

    def __enter__(self):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_ARCHIVE_LOCK_NAMESPACE, self.key])
            (self.held,) = cursor.fetchone()
        return self.held

    def __exit__(self, *exc):
        if self.held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_ARCHIVE_LOCK_NAMESPACE, self.key])


def archive_job(ctx) -> bool:
    """Retention job of kind ``ledger_hot``: archive the chain's entries older than ``ctx.cutoff``."""
    organization_id = ctx.organization_id
    with _ChainLock(organization_id) as held:
        if not held:
            ctx.progress("another archive run holds this chain; skipped")
            return True
        previous = latest_checkpoint(organization_id)
        start = previous.last_sequence + 1 if previous else 1
        prev_hash = previous.last_hash if previous else GENESIS_HASH
        if previous is not None and not ctx.dry_run:
            # A run that stopped between its checkpoint and the end of its deletes.
            delete_archived(organization_id, previous.last_sequence, batch_size=ctx.batch_size, ctx=ctx)
        upto = _archivable_upto(organization_id, ctx.cutoff)
        if ctx.dry_run:
            ctx.removed = max(0, upto - start + 1)
            ctx.progress(
                f"dry run: entries {start}..{upto} would be archived"
                if upto >= start
                else "nothing to archive"
            )
            return True
        backend = current_backend()
        checkpoints = ctx.detail.setdefault("checkpoints", [])
        while start <= upto:
            if ctx.out_of_time():
                return False
            last = min(start + settings.LEDGER_ARCHIVE_SPAN - 1, upto)
            stats = _SpanStats()
            location = backend.write_span(
                organization_id=organization_id,
                first=start,
                last=last,
                records=_span_records(organization_id, start, last, prev_hash, stats),
            )
            checkpoint = write_checkpoint(
                organization_id=organization_id,
                first=start,
                last=last,
                stats=stats,
                backend=backend,
                location=location,
            )
            checkpoints.append({"id": checkpoint.pk, "first": start, "last": last, "location": location})
            ctx.progress(
                f"span {start}..{last} archived to {backend.name}:{location}, checkpoint {checkpoint.pk}"
            )
            delete_archived(organization_id, last, batch_size=ctx.batch_size, ctx=ctx)
            start, prev_hash = last + 1, stats.last_hash
        return True


def expire_spans_job(ctx) -> bool:
    """Retention job of kind ``archived_ledger_spans``: archived spans whose newest entry is older than
    the cutoff leave the archive. Their checkpoints stay; only a prefix of the chain is ever removed,
    so verification starts after the last removed span, from its signed checkpoint."""
    spans = LedgerCheckpoint.objects.filter(
        **chain_filter(ctx.organization_id), removal__isnull=True
    ).order_by("last_sequence")
    for checkpoint in spans:
        if checkpoint.last_created_at >= ctx.cutoff:
            break
        if ctx.out_of_time():
            return False
        if ctx.dry_run:
            ctx.removed += checkpoint.count
            continue
        # The removal record first: a span whose file is gone but which is not marked removed would
        # read as tampering.
        ArchivedSpanRemoval.objects.create(checkpoint=checkpoint, removed_at=timezone.now())
        backend_named(checkpoint.backend).remove_span(
            organization_id=ctx.organization_id,
            location=checkpoint.location,
            first=checkpoint.first_sequence,
            last=checkpoint.last_sequence,
        )
        ctx.removed += checkpoint.count
        ctx.batches += 1
        ctx.detail.setdefault("spans", []).append(checkpoint.pk)
        ctx.progress(f"archived span {checkpoint.first_sequence}..{checkpoint.last_sequence} removed")
    return True
