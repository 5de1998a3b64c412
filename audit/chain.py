"""What the appending and the sealing of the ledger share: the chain's lock and the push that
tells live pages an entry joined it."""

import zlib

from opsplatform.realtime.groups import organization_group

# Advisory-lock namespace for "the chain of organization N": keeps it apart from other lock users.
CHAIN_LOCK_NAMESPACE = zlib.crc32(b"opsplatform.core.ledger") & 0x7FFFFFFF


def pushed(organization_id: int, *, pk: int, sequence: int, verb: str, target_type: str, target_id: str):
    """The realtime event of one chained entry: (group, event)."""
    return organization_group(organization_id), {
        "kind": "ledger",
        "id": pk,
        "sequence": sequence,
        "verb": verb,
        "target_type": target_type,
        "target_id": target_id,
    }
