"""Reads of the retention records: the page's table and the records' own retention."""

from __future__ import annotations

from audit.models import RetentionRun
from audit.retention.policy import effective_days, limits_of, overrides_of
from audit.retention.registry import KINDS


def runs_past(organization_id, cutoff):
    return RetentionRun.objects.filter(organization_id=organization_id, finished_at__lt=cutoff)


def retention_table(organization) -> list[dict]:
    """Every kind with its limits, this organization's setting and its last run."""
    overrides = overrides_of(organization.pk)
    rows = []
    for kind in KINDS:
        owner = organization.pk if kind.per_organization else None
        last = (
            RetentionRun.objects.filter(organization_id=owner, kind=kind.key)
            .order_by("-started_at", "-id")
            .first()
        )
        rows.append(
            {
                "kind": kind,
                "limits": limits_of(kind),
                "override": overrides.get(kind.key),
                "days": effective_days(kind, owner, overrides=overrides),
                "last_run": last,
            }
        )
    return rows


def recent_runs(organization, *, limit: int = 30):
    return list(
        RetentionRun.objects.filter(organization_id__in=[organization.pk]).order_by("-started_at", "-id")[
            :limit
        ]
    )
