"""Verifying the archived spans of a chain against their signed checkpoints.

Checkpoints must follow each other without a gap (each span starts right after the previous one),
each must carry a valid signature of a trusted key, and each span must hold exactly the entries
its checkpoint counts, chained from the previous checkpoint's last hash to its own. Spans removed
at the end of their own retention are skipped: the walk starts after the last of them, from its
signed checkpoint. The first problem found is named, with the span's backend and location.
"""

from __future__ import annotations

from audit.archive import signing
from audit.archive.archiver import chain_filter
from audit.archive.backends import ArchiveMissing, backend_named
from audit.archive.records import from_record
from audit.hashing import GENESIS_HASH
from audit.models import LedgerCheckpoint
from audit.verification import Break, ChainReport, check_entry


def verify_archive(organization_id) -> ChainReport:
    checkpoints = list(
        LedgerCheckpoint.objects.filter(**chain_filter(organization_id))
        .select_related("removal")
        .order_by("last_sequence")
    )
    walk = _Walk(organization_id=organization_id, keys=signing.trusted_keys())
    for checkpoint in checkpoints:
        broken = walk.checkpoint(checkpoint)
        if broken is not None:
            return ChainReport(organization_id=organization_id, checked=walk.checked, broken=broken)
    return ChainReport(organization_id=organization_id, checked=walk.checked)


class _Walk:
    """The position reached along the chain: next expected sequence and the hash it must follow."""

    def __init__(self, *, organization_id, keys):
        self.organization_id, self.keys = organization_id, keys
        self.expected, self.prev_hash, self.checked = 1, GENESIS_HASH, 0

    def checkpoint(self, checkpoint) -> Break | None:
        where = f"checkpoint {checkpoint.pk}"
        problem = signing.verify(checkpoint.signed_payload(), checkpoint.signature, keys=self.keys)
        if problem:
            return Break(None, checkpoint.last_sequence, f"{where}: {problem}", where)
        if checkpoint.first_sequence != self.expected:
            return Break(
                None,
                self.expected,
                f"{where} starts at {checkpoint.first_sequence}, not {self.expected} "
                "(a checkpoint is missing)",
                where,
            )
        if hasattr(checkpoint, "removal"):
            self.expected, self.prev_hash = checkpoint.last_sequence + 1, checkpoint.last_hash
            return None
        return self._archived(checkpoint)

    def _archived(self, checkpoint) -> Break | None:
        where = f"archive {checkpoint.backend}:{checkpoint.location}"
        try:
            broken = self._span(checkpoint, where)
        except ArchiveMissing as exc:
            return Break(None, self.expected, str(exc), where)
        if broken is not None:
            return broken
        if self.expected != checkpoint.last_sequence + 1 or self._count != checkpoint.count:
            return Break(
                None,
                self.expected,
                f"the span holds {self._count} entries up to {self.expected - 1}; checkpoint "
                f"{checkpoint.pk} counts {checkpoint.count} up to {checkpoint.last_sequence}",
                where,
            )
        if self.prev_hash != checkpoint.last_hash:
            return Break(
                None, checkpoint.last_sequence, f"the span does not end in {checkpoint}'s hash", where
            )
        return None

    def _span(self, checkpoint, where) -> Break | None:
        self._count = 0
        records = backend_named(checkpoint.backend).read_span(
            organization_id=self.organization_id,
            location=checkpoint.location,
            first=checkpoint.first_sequence,
            last=checkpoint.last_sequence,
        )
        for record in records:
            try:
                entry = from_record(record)
            except (KeyError, TypeError, ValueError) as exc:
                return Break(None, self.expected, f"unreadable entry after {self.expected - 1}: {exc}", where)
            problem = check_entry(entry, expected_sequence=self.expected, prev_hash=self.prev_hash)
            if problem:
                return Break(entry.pk, entry.sequence, problem, where)
            self._count += 1
            self.checked += 1
            self.expected, self.prev_hash = entry.sequence + 1, entry.entry_hash
        return None
