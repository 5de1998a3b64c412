"""The retention beat tick: due times live in ``RetentionJob.next_run_at`` (one row per kind).

A tick claims one due job at a time with a conditional update under ``SKIP LOCKED`` and a lease,
runs it within what is left of its budget, and sets the next due time: a job that finished waits
``RETENTION_RUN_INTERVAL_SECONDS``; one that ran out of time is due again at once, so the next
tick goes on where this one stopped.
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.models import RetentionJob
from audit.retention.registry import BY_KEY, KINDS
from audit.retention.runner import Outcome, run_kind


def ensure_jobs(now) -> None:
    RetentionJob.objects.bulk_create(
        [RetentionJob(kind=kind.key, next_run_at=now) for kind in KINDS], ignore_conflicts=True
    )


def claim_due(now) -> RetentionJob | None:
    lease = now + timedelta(seconds=settings.RETENTION_LEASE_SECONDS)
    with transaction.atomic():
        job = (
            RetentionJob.objects.select_for_update(skip_locked=True)
            .filter(next_run_at__lte=now, kind__in=BY_KEY)
            .exclude(leased_until__gt=now)
            .order_by("next_run_at", "kind")
            .first()
        )
        if job is None:
            return None
        job.leased_until, job.last_started_at = lease, now
        job.save(update_fields=["leased_until", "last_started_at"])
        return job


def tick(*, now=None, budget_seconds: float | None = None) -> list[Outcome]:
    now = now or timezone.now()
    budget = settings.RETENTION_TICK_BUDGET_SECONDS if budget_seconds is None else budget_seconds
    deadline = time.monotonic() + budget
    ensure_jobs(now)
    outcomes: list[Outcome] = []
    while time.monotonic() < deadline:
        job = claim_due(now)
        if job is None:
            break
        results = run_kind(BY_KEY[job.kind], now=now, deadline=deadline)
        outcomes += results
        finished = time.monotonic() < deadline and all(result.finished for result in results)
        finished_at = timezone.now()
        RetentionJob.objects.filter(pk=job.pk).update(
            leased_until=None,
            last_finished_at=finished_at,
            next_run_at=finished_at + timedelta(seconds=settings.RETENTION_RUN_INTERVAL_SECONDS)
            if finished
            else finished_at,
        )
    return outcomes
