"""The "Mine" card: open incidents the viewer is assigned to or responding to."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from opsplatform.home.selectors.attention import incident_list_url
from opsplatform.home.selectors.rows import IncidentRow, open_incidents, rows

LIMIT = 8


@dataclass(frozen=True)
class Mine:
    rows: list[IncidentRow]
    more: bool
    list_url: str


def my_incidents(organization, user, now, *, limit: int = LIMIT) -> Mine:
    # An id subquery rather than a join: assigned and responding at once must not list it twice.
    mine = open_incidents(organization).filter(
        pk__in=open_incidents(organization).filter(Q(assignees=user) | Q(responders=user)).values("pk")
    )
    incidents = list(mine[: limit + 1])
    return Mine(
        rows=rows(incidents[:limit], now),
        more=len(incidents) > limit,
        list_url=incident_list_url(assignee=user.pk, open=1),
    )
