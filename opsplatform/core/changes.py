"""The shape every update service shares: refuse fields it does not change, set what differs."""

from django.core.exceptions import ValidationError


def refuse_unknown(changes: dict, allowed, message: str = "This field cannot be changed.") -> None:
    unknown = set(changes) - set(allowed)
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), message))


def apply_changes(obj, changes: dict) -> dict:
    """Set on ``obj`` the values that differ from what it holds; returns those (empty: nothing to
    save, and an update service returns early without a ledger entry). The caller validates and
    saves with ``update_fields=list(changed)``."""
    changed = {key: value for key, value in changes.items() if getattr(obj, key) != value}
    for key, value in changed.items():
        setattr(obj, key, value)
    return changed
