"""Running retention in tests: one kind, now, with the deployment's days set for the test."""

from audit.retention.registry import BY_KEY, Limits
from audit.retention.runner import run_kind


def keep_days(settings, kind: str, days: int) -> None:
    """Set the deployment default of ``kind`` (the bounds widen to admit it)."""
    current = settings.RETENTION[kind]
    settings.RETENTION = {
        **settings.RETENTION,
        kind: Limits(days=days, min_days=min(current.min_days, days), max_days=max(current.max_days, days)),
    }


def purge(kind: str, **options) -> int:
    """Run ``kind`` for every organization; the rows it removed."""
    return sum(outcome.removed for outcome in run_kind(BY_KEY[kind], **options))
