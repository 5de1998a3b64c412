"""Shared by the account page tests: the roles, expected statuses by role, ledger queries."""

from audit.models import LedgerEntry

ROLES = ["owner", "admin", "manager", "operator", "viewer"]


def expect(allowed_roles, ok=200, denied=403):
    """``[(role, expected status)]`` for every role: ``ok`` for ``allowed_roles``, else ``denied``."""
    return [(role, ok if role in allowed_roles else denied) for role in ROLES]


def ledger(verb, org=None):
    return LedgerEntry.objects.filter(verb=verb, organization=org)
