"""Every kind of data the platform lets expire, with its retention setting: the one list.

Each kind names, as a dotted path, the function that selects its rows past a cutoff (apps above
audit own their tables; a path keeps the layers one-way, like ``LEDGER_RECORDER``). The deployment
sets a default and the bounds per kind from the environment (see :func:`deployment_retention`); an
organization may override the default within those bounds (``RetentionOverride``).

This module imports nothing of Django's models: settings.py reads the environment through it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DataKind:
    key: str
    label: str
    description: str
    default_days: int
    min_days: int
    max_days: int
    # (organization_id | None, cutoff) -> QuerySet of the rows past the cutoff. Empty for kinds
    # with a job of their own (``job``).
    expired: str = ""
    # A kind whose rows carry no organization (sessions): one deployment-wide run, no override.
    per_organization: bool = True
    # Environment variable of the deployment default when it predates this registry.
    env_days: str = ""
    # A job that is not a batched delete (the ledger archive): (RunContext) -> finished (bool).
    job: str = ""
    # Runs for the platform ledger chain (entries of no organization) besides every organization's.
    platform_chain: bool = False

    @property
    def env_prefix(self) -> str:
        return f"RETENTION_{self.key.upper()}"


KINDS: tuple[DataKind, ...] = (
    DataKind(
        key="raw_payloads",
        label="Raw alert payloads",
        description="Ingestion requests as they arrived, kept for debugging integrations.",
        default_days=7,
        min_days=1,
        max_days=90,
        expired="incidents.retention.raw_payloads_past",
        env_days="INGEST_RAW_PAYLOAD_RETENTION_DAYS",
    ),
    DataKind(
        key="resolved_alerts",
        label="Alerts of resolved incidents",
        description="Alert rows of incidents resolved before the cutoff, and standalone alerts last "
        "seen before it. The incident and its timeline stay.",
        default_days=365,
        min_days=30,
        max_days=3650,
        expired="incidents.retention.resolved_alerts_past",
    ),
    DataKind(
        key="notification_attempts",
        label="Notification attempts",
        description="One row per delivery attempt (outcome, status code, error).",
        default_days=90,
        min_days=7,
        max_days=730,
        expired="notifications.retention.attempts_past",
    ),
    DataKind(
        key="check_results",
        label="Monitor check results",
        description="Raw results of every monitor check. Hourly rollups are kept.",
        default_days=14,
        min_days=1,
        max_days=365,
        expired="monitoring.retention.check_results_past",
        env_days="MONITORING_RESULT_RETENTION_DAYS",
    ),
    DataKind(
        key="check_minute_rollups",
        label="Monitor minute rollups",
        description="Per-minute uptime and latency rollups. Hourly rollups are kept.",
        default_days=90,
        min_days=7,
        max_days=730,
        expired="monitoring.retention.minute_rollups_past",
        env_days="MONITORING_MINUTE_ROLLUP_RETENTION_DAYS",
    ),
    DataKind(
        key="expired_tokens",
        label="Expired and revoked API tokens",
        description="Tokens that expired or were revoked before the cutoff.",
        default_days=90,
        min_days=1,
        max_days=3650,
        expired="opsplatform.accounts.retention.tokens_past",
    ),
    DataKind(
        key="expired_invitations",
        label="Expired and revoked invitations",
        description="Invitations that expired or were revoked before the cutoff (accepted ones stay).",
        default_days=30,
        min_days=1,
        max_days=3650,
        expired="opsplatform.accounts.retention.invitations_past",
    ),
    DataKind(
        key="expired_sessions",
        label="Expired sign-in sessions",
        description="Browser sessions that expired before the cutoff (deployment-wide).",
        default_days=1,
        min_days=0,
        max_days=90,
        expired="opsplatform.accounts.retention.sessions_past",
        per_organization=False,
    ),
    DataKind(
        key="retention_runs",
        label="Retention run records",
        description="The records of past retention runs shown on this page (their ledger entries stay).",
        default_days=90,
        min_days=7,
        max_days=3650,
        expired="audit.retention.selectors.runs_past",
    ),
    DataKind(
        key="ledger_hot",
        label="Ledger entries in the database",
        description="Older ledger entries move to the archive under a signed checkpoint; the chain "
        "stays verifiable with verify_ledger --archive.",
        default_days=365,
        min_days=7,
        max_days=36500,
        job="audit.archive.archiver.archive_job",
        platform_chain=True,
    ),
    DataKind(
        key="archived_ledger_spans",
        label="Archived ledger spans",
        description="Archived spans older than this leave the archive; their signed checkpoints stay "
        "and verification starts from the oldest span still there.",
        default_days=3650,
        min_days=365,
        max_days=36500,
        job="audit.archive.archiver.expire_spans_job",
        platform_chain=True,
    ),
)

BY_KEY = {kind.key: kind for kind in KINDS}


@dataclass(frozen=True)
class Limits:
    days: int
    min_days: int
    max_days: int

    def check(self, days: int) -> str | None:
        if not self.min_days <= days <= self.max_days:
            return f"must be between {self.min_days} and {self.max_days} days"
        return None


def deployment_retention(env) -> dict[str, Limits]:
    """The deployment's default and bounds per kind, read from ``environ.Env``; fails loudly on
    a default outside its bounds or bounds that contradict each other."""
    from environ import ImproperlyConfigured

    limits = {}
    for kind in KINDS:
        days = env.int(kind.env_days, default=kind.default_days) if kind.env_days else kind.default_days
        days = env.int(f"{kind.env_prefix}_DAYS", default=days)
        low = env.int(f"{kind.env_prefix}_MIN_DAYS", default=kind.min_days)
        high = env.int(f"{kind.env_prefix}_MAX_DAYS", default=kind.max_days)
        if not 0 <= low <= days <= high:
            raise ImproperlyConfigured(
                f"{kind.env_prefix}_DAYS={days} must lie within {kind.env_prefix}_MIN_DAYS={low} and "
                f"{kind.env_prefix}_MAX_DAYS={high} (and the minimum may not be negative)"
            )
        limits[kind.key] = Limits(days=days, min_days=low, max_days=high)
    return limits
