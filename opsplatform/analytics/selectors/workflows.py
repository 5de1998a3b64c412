"""Where workflow work waits: approval requests and the task backlog, for the page's filters.

Read straight from the workflow tables with a few aggregate queries (no rollup): approvals and tasks
are people's work, hundreds a month rather than millions of alerts, so an aggregate over a range's
rows stays a bounded read. "Now" figures are live.

Team and service: an approval request belongs to its run's team and service; a task to its run's,
or (a task without a run) its incident's.
"""

from django.db.models import (
    Aggregate,
    Avg,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    Min,
    Q,
)

from opsplatform.analytics.selectors.filters import Filters
from workflows.models import ACTIVE_TASK_STATUSES, ApprovalRequest, ApprovalStatus, Task, TaskStatus

CLOSED = (ApprovalStatus.APPROVED, ApprovalStatus.REJECTED)


class Seconds(Func):
    """An interval as seconds (a float)."""

    template = "EXTRACT(EPOCH FROM (%(expressions)s))"
    output_field = FloatField()


class Percentile(Aggregate):
    """PostgreSQL's ``percentile_cont``: linear interpolation between the two nearest values."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, fraction: float, **extra):
        # A constant of this module, never input: inlined as a literal.
        super().__init__(expression, fraction=float(fraction), **extra)


def _wait(start: str, end: str):
    return Seconds(ExpressionWrapper(F(end) - F(start), output_field=DurationField()))


def _seconds(value):
    return round(value, 3) if value is not None else None


def _approvals(f: Filters):
    rows = ApprovalRequest.objects.filter(organization_id=f.organization_id)
    if f.team is not None:
        rows = rows.filter(run__team=f.team)
    if f.service is not None:
        rows = rows.filter(run__service=f.service)
    return rows.order_by()


def _tasks(f: Filters):
    rows = Task.objects.filter(organization_id=f.organization_id)
    for name, value in (("team", f.team), ("service", f.service)):
        if value is not None:
            rows = rows.filter(
                Q(**{f"run__{name}": value}) | Q(run__isnull=True, **{f"incident__{name}": value})
            )
    return rows.order_by()


def approval_wait(f: Filters, now) -> dict:
    """Requests closed (approved or rejected) in the range: the time from the request to the decision
    that closed it; and the requests open now with the oldest one's wait. Withdrawn requests were
    never decided and are in neither."""
    start, end = f.bounds
    wait = _wait("created_at", "decided_at")
    decided = (
        _approvals(f)
        .filter(status__in=CLOSED, decided_at__gte=start, decided_at__lt=end)
        .aggregate(
            decided=Count("pk"),
            approved=Count("pk", filter=Q(status=ApprovalStatus.APPROVED)),
            rejected=Count("pk", filter=Q(status=ApprovalStatus.REJECTED)),
            mean=Avg(wait),
            p50=Percentile(wait, 0.5),
            p95=Percentile(wait, 0.95),
        )
    )
    waiting = (
        _approvals(f)
        .filter(status=ApprovalStatus.PENDING)
        .aggregate(count=Count("pk"), oldest=Min("created_at"))
    )
    oldest = waiting["oldest"]
    return {
        "decided": decided["decided"],
        "approved": decided["approved"],
        "rejected": decided["rejected"],
        "mean_wait_seconds": _seconds(decided["mean"]),
        "p50_wait_seconds": _seconds(decided["p50"]),
        "p95_wait_seconds": _seconds(decided["p95"]),
        "waiting_now": waiting["count"],
        "oldest_waiting_seconds": round((now - oldest).total_seconds()) if oldest else None,
    }


def task_backlog(f: Filters, now) -> dict:
    """Open and overdue tasks now; tasks created and completed (done) in the range, and the mean time
    from creation to completion of those completed. Cancelled tasks are not completions."""
    start, end = f.bounds
    in_range = Q(created_at__gte=start, created_at__lt=end)
    done = Q(status=TaskStatus.DONE, completed_at__gte=start, completed_at__lt=end)
    active = Q(status__in=ACTIVE_TASK_STATUSES)
    sums = (
        _tasks(f)
        .filter(in_range | done | active)
        .aggregate(
            open_now=Count("pk", filter=active),
            overdue_now=Count("pk", filter=active & Q(due_at__lte=now)),
            created=Count("pk", filter=in_range),
            completed=Count("pk", filter=done),
            mean=Avg(_wait("created_at", "completed_at"), filter=done),
        )
    )
    return {
        "open_now": sums["open_now"],
        "overdue_now": sums["overdue_now"],
        "created": sums["created"],
        "completed": sums["completed"],
        "mean_time_to_complete_seconds": _seconds(sums["mean"]),
    }


def workflow_figures(f: Filters, now) -> dict:
    return {"approvals": approval_wait(f, now), "tasks": task_backlog(f, now)}
