"""Signed approve/reject links that approval notices carry.

A link is signed (TimestampSigner under SECRET_KEY, its own salt), names the notice, the approval,
the person and the verdict, and expires after ``WORKFLOW_APPROVAL_LINK_MAX_AGE`` seconds. Following
it opens a confirmation page for the signed-in person it names; only that page's POST decides, and
the notice's ``link_used_at`` makes it single-use (see ``views.links``).
"""

from dataclasses import dataclass

from django.conf import settings
from django.core import signing

SALT = "workflows.approval-link"
DEFAULT_MAX_AGE = 24 * 3600


@dataclass(frozen=True)
class LinkClaim:
    notice_id: int
    approval_id: int
    user_id: int
    verdict: str


def approval_token(*, notice_id: int, approval_id: int, user_id: int, verdict: str) -> str:
    return signing.dumps(
        {"n": notice_id, "a": approval_id, "u": user_id, "v": verdict}, salt=SALT, compress=True
    )


def read_approval_token(token: str) -> LinkClaim | None:
    """The claim of a valid, unexpired link, or None (forged, altered and expired look the same)."""
    max_age = getattr(settings, "WORKFLOW_APPROVAL_LINK_MAX_AGE", DEFAULT_MAX_AGE)
    try:
        data = signing.loads(token, salt=SALT, max_age=max_age)
        claim = LinkClaim(int(data["n"]), int(data["a"]), int(data["u"]), str(data["v"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    return claim if claim.verdict in ("approve", "reject") else None
