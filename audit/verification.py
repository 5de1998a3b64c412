"""Walking a ledger chain and finding its first broken link.

A chain is intact when its sequences run 1, 2, 3 … without a gap, each entry's ``prev_hash`` is
the ``entry_hash`` of the entry before it (the genesis hash for the first), and each ``entry_hash``
is the digest of the entry's own content. Once spans of a chain are archived, the live part starts
after the latest signed checkpoint: its first entry follows the checkpoint's last sequence and hash
(``audit.archive.verify`` checks the archived spans themselves).
"""

from collections.abc import Iterator
from dataclasses import dataclass

from audit.archive import signing
from audit.hashing import GENESIS_HASH, digest_of
from audit.models import LedgerCheckpoint, LedgerEntry

CHUNK_SIZE = 2000


@dataclass(frozen=True)
class Break:
    entry_id: int | None  # None when the break is a checkpoint or a missing span, not an entry
    sequence: int
    problem: str
    where: str = "live"  # "live", "checkpoint N", or the archive span's backend and location


@dataclass(frozen=True)
class ChainReport:
    organization_id: int | None
    checked: int
    broken: Break | None = None

    @property
    def intact(self) -> bool:
        return self.broken is None


def _entries(organization_id, *, after: int, upto: int, chunk_size: int) -> Iterator[LedgerEntry]:
    """The chain in sequence order, one bounded chunk at a time.

    Keyset chunks (``sequence > last``) rather than one server-side cursor: each query is short and
    served by the (organization, sequence) unique index, so walking millions of rows neither holds
    a transaction open for minutes nor depends on cursors surviving a connection pooler.
    """
    chain = LedgerEntry.objects.filter(organization_id=organization_id, sequence__lte=upto).order_by(
        "sequence"
    )
    last = after
    while True:
        chunk = list(chain.filter(sequence__gt=last)[:chunk_size])
        yield from chunk
        if len(chunk) < chunk_size:
            return
        last = chunk[-1].sequence


def check_entry(entry: LedgerEntry, *, expected_sequence: int, prev_hash: str) -> str | None:
    """What is wrong with ``entry`` given its predecessor, or None."""
    if entry.sequence != expected_sequence:
        if expected_sequence == 1:
            return f"the chain starts at sequence {entry.sequence}, not 1 (entries before it are missing)"
        return (
            f"sequence gap: expected {expected_sequence}, found {entry.sequence} "
            f"(entries {expected_sequence}..{entry.sequence - 1} are missing)"
        )
    if entry.prev_hash != prev_hash:
        if expected_sequence == 1:
            return "prev_hash of the first entry is not the genesis hash"
        return f"prev_hash does not match the entry_hash of sequence {expected_sequence - 1}"
    if entry.entry_hash != digest_of(entry):
        return "entry_hash does not match the entry's content (the entry was altered)"
    return None


def verify_chain(organization_id: int | None, *, chunk_size: int = CHUNK_SIZE) -> ChainReport:
    """Check one chain (``None`` is the platform chain) up to its last entry at the time of the call.

    Entries appended while the walk runs are left for the next run, so a busy chain still gives
    a definite answer.
    """
    upto = (
        LedgerEntry.objects.filter(organization_id=organization_id)
        .order_by("-sequence")
        .values_list("sequence", flat=True)
        .first()
    )
    checkpoint = (
        LedgerCheckpoint.objects.filter(organization_id=organization_id).order_by("-last_sequence").first()
    )
    expected, prev_hash, checked = 1, GENESIS_HASH, 0
    if checkpoint is not None:
        problem = signing.verify(checkpoint.signed_payload(), checkpoint.signature)
        if problem:
            return ChainReport(
                organization_id=organization_id,
                checked=0,
                broken=Break(
                    entry_id=None,
                    sequence=checkpoint.last_sequence,
                    problem=f"checkpoint {checkpoint.pk}: {problem}",
                    where=f"checkpoint {checkpoint.pk}",
                ),
            )
        expected, prev_hash = checkpoint.last_sequence + 1, checkpoint.last_hash
    if upto is None:
        if checkpoint is not None:
            # The newest entry always stays live: a chain with a checkpoint and no entries lost its tail.
            return ChainReport(
                organization_id=organization_id,
                checked=0,
                broken=Break(
                    entry_id=None,
                    sequence=expected,
                    problem=f"no live entries after checkpoint {checkpoint.pk} (the chain's tail is missing)",
                ),
            )
        return ChainReport(organization_id=organization_id, checked=0)
    after = expected - 1
    for entry in _entries(organization_id, after=after, upto=upto, chunk_size=chunk_size):
        problem = check_entry(entry, expected_sequence=expected, prev_hash=prev_hash)
        if problem:
            return ChainReport(
                organization_id=organization_id,
                checked=checked,
                broken=Break(entry_id=entry.pk, sequence=entry.sequence, problem=problem),
            )
        checked += 1
        expected = entry.sequence + 1
        prev_hash = entry.entry_hash
    return ChainReport(organization_id=organization_id, checked=checked)
