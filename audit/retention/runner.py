"""Running retention: for one kind, organization by organization, small batched deletes.

Each batch is its own short transaction: it picks at most ``RETENTION_BATCH_SIZE`` primary keys of
rows past the cutoff (skipping rows another transaction holds, so a purge never waits on a lock
and never makes anyone wait long), deletes them by primary key, commits, and pauses briefly so
autovacuum and replicas keep up. A run that reaches its deadline stops between batches and is
``partial``; the next tick goes on. Every run that removed something writes one ledger entry on
the organization's chain (the platform chain for deployment-wide kinds) saying what and how much.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from audit import eventlog
from audit.models import RetentionRun, RetentionRunStatus
from audit.retention.policy import effective_days, overrides_of
from audit.retention.registry import DataKind
from audit.services import record
from opsplatform.accounts.models import Organization
from opsplatform.core.actors import Actor

logger = logging.getLogger("audit.retention")
JOB = "retention"


@dataclass
class RunContext:
    """What a job needs to know about its run, and where it reports progress."""

    kind: DataKind
    organization_id: int | None
    days: int
    cutoff: datetime
    now: datetime
    dry_run: bool
    deadline: float  # time.monotonic() after which no new batch starts
    batch_size: int
    removed: int = 0
    batches: int = 0
    detail: dict = field(default_factory=dict)

    def out_of_time(self) -> bool:
        return time.monotonic() >= self.deadline

    def progress(self, message: str, **extra) -> None:
        logger.info(
            "retention %s: %s",
            self.kind.key,
            message,
            extra={
                "retention_kind": self.kind.key,
                "organization_id": self.organization_id,
                "removed": self.removed,
                "batches": self.batches,
                "dry_run": self.dry_run,
                **extra,
            },
        )


@dataclass(frozen=True)
class Outcome:
    kind: str
    organization_id: int | None
    days: int
    cutoff: datetime
    removed: int
    batches: int
    finished: bool
    dry_run: bool
    detail: dict


def owners_of(kind: DataKind, organization_id: int | None = None) -> list[int | None]:
    if not kind.per_organization:
        return [None]
    if organization_id is not None:
        return [organization_id]
    owners = list(Organization.objects.order_by("pk").values_list("pk", flat=True))
    return [*owners, None] if kind.platform_chain else owners


def delete_batches(ctx: RunContext, queryset) -> bool:
    """Delete ``queryset``'s rows in batches by primary key; True when none is left."""
    model = queryset.model
    label = model._meta.label
    while True:
        if ctx.out_of_time():
            return False
        with transaction.atomic():
            # SKIP LOCKED: a row someone is changing right now waits for the next run instead of
            # making this one (and everyone queued behind it) wait.
            picked = list(
                queryset.select_for_update(skip_locked=True, of=("self",))
                .order_by()
                .values_list("pk", flat=True)[: ctx.batch_size]
            )
            if not picked:
                return True
            _, per_model = model._base_manager.filter(pk__in=picked).delete()
        removed = per_model.get(label, 0)
        ctx.removed += removed
        ctx.batches += 1
        for other, count in per_model.items():
            if other != label:
                ctx.detail[other] = ctx.detail.get(other, 0) + count
        ctx.progress(f"batch {ctx.batches}: {removed} removed")
        if len(picked) < ctx.batch_size:
            return True
        if settings.RETENTION_BATCH_PAUSE_SECONDS:
            time.sleep(settings.RETENTION_BATCH_PAUSE_SECONDS)


def _purge(ctx: RunContext) -> bool:
    selector = import_string(ctx.kind.expired)  # importing it registers the app's event logs
    log = eventlog.registered().get(ctx.kind.key)
    if log is not None:
        # An event log is purged in the store that holds it (in MongoDB the TTL index removes
        # most; this takes what an organization's shortened retention left behind).
        finished = log.backend.purge(log, ctx, delete_batches)
        if ctx.dry_run:
            ctx.progress(f"dry run: {ctx.removed} would be removed")
        return finished
    queryset = selector(ctx.organization_id, ctx.cutoff)
    if ctx.dry_run:
        ctx.removed = queryset.count()
        ctx.progress(f"dry run: {ctx.removed} would be removed")
        return True
    return delete_batches(ctx, queryset)


def run_kind(
    kind: DataKind,
    *,
    organization_id: int | None = None,
    now: datetime | None = None,
    dry_run: bool = False,
    deadline: float | None = None,
) -> list[Outcome]:
    """Run ``kind`` for every organization (or one), until done or ``deadline``.

    A dry run counts what would go and writes nothing (no run record, no ledger entry).
    """
    now = now or timezone.now()
    deadline = deadline if deadline is not None else time.monotonic() + 10**9
    job = import_string(kind.job) if kind.job else _purge
    outcomes = []
    for owner in owners_of(kind, organization_id):
        days = effective_days(kind, owner, overrides=overrides_of(owner))
        ctx = RunContext(
            kind=kind,
            organization_id=owner,
            days=days,
            cutoff=now - timedelta(days=days),
            now=now,
            dry_run=dry_run,
            deadline=deadline,
            batch_size=settings.RETENTION_BATCH_SIZE,
        )
        outcomes.append(_run_one(ctx, job))
        if ctx.out_of_time():
            break
    return outcomes


def _run_one(ctx: RunContext, job) -> Outcome:
    run = None
    if not ctx.dry_run:
        run = RetentionRun.objects.create(
            organization_id=ctx.organization_id,
            kind=ctx.kind.key,
            days=ctx.days,
            cutoff=ctx.cutoff,
            started_at=timezone.now(),
        )
    ctx.progress(f"started (keeping {ctx.days} days, cutoff {ctx.cutoff.isoformat()})")
    try:
        finished = job(ctx)
    except Exception as exc:
        logger.exception("retention %s failed", ctx.kind.key, extra={"organization_id": ctx.organization_id})
        if run is not None:
            _finish(run, ctx, RetentionRunStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:500])
        return _outcome(ctx, finished=False)
    if run is not None:
        _finish(run, ctx, RetentionRunStatus.DONE if finished else RetentionRunStatus.PARTIAL)
    ctx.progress("finished" if finished else "stopped at its deadline; the next tick goes on")
    return _outcome(ctx, finished=finished)


def _finish(run: RetentionRun, ctx: RunContext, status: str, error: str = "") -> None:
    with transaction.atomic():
        run.status, run.finished_at, run.error = status, timezone.now(), error
        run.removed, run.batches, run.detail = ctx.removed, ctx.batches, ctx.detail
        run.save(update_fields=["status", "finished_at", "error", "removed", "batches", "detail"])
        if ctx.removed:
            organization = Organization.objects.get(pk=ctx.organization_id) if ctx.organization_id else None
            record(
                actor=Actor.system(JOB, organization=organization),
                verb="retention.purged",
                target=run,
                organization=organization,
                data={
                    "kind": ctx.kind.key,
                    "removed": ctx.removed,
                    "days": ctx.days,
                    "cutoff": ctx.cutoff.isoformat(),
                    "batches": ctx.batches,
                    "status": status,
                    **({"detail": ctx.detail} if ctx.detail else {}),
                },
            )


def _outcome(ctx: RunContext, *, finished: bool) -> Outcome:
    return Outcome(
        kind=ctx.kind.key,
        organization_id=ctx.organization_id,
        days=ctx.days,
        cutoff=ctx.cutoff,
        removed=ctx.removed,
        batches=ctx.batches,
        finished=finished,
        dry_run=ctx.dry_run,
        detail=dict(ctx.detail),
    )
