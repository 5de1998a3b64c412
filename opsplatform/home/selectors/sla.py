"""The "SLA" card: open incidents whose SLA is breached or at risk, breached first, then by deadline."""

from __future__ import annotations

from dataclasses import dataclass

from incidents.selectors import SLA_FILTERS
from opsplatform.home.selectors.attention import incident_list_url
from opsplatform.home.selectors.rows import IncidentRow, open_incidents, rows

LIMIT = 8


@dataclass(frozen=True)
class SlaCard:
    breached: list[IncidentRow]
    at_risk: list[IncidentRow]
    more: bool
    breached_url: str
    at_risk_url: str

    @property
    def empty(self) -> bool:
        return not self.breached and not self.at_risk


def sla_watch(organization, now, *, limit: int = LIMIT) -> SlaCard:
    flagged = open_incidents(organization).filter(SLA_FILTERS["breached"] | SLA_FILTERS["at_risk"])
    found = rows(flagged[: limit + 1], now)
    shown = found[:limit]
    breached = [r for r in shown if r.sla == "breached"]
    # The nearest deadline first: that is the one to act on.
    at_risk = sorted(
        (r for r in shown if r.sla != "breached"),
        key=lambda r: (r.deadline is None, r.deadline or now),
    )
    return SlaCard(
        breached=breached,
        at_risk=at_risk,
        more=len(found) > limit,
        breached_url=incident_list_url(sla="breached", open=1),
        at_risk_url=incident_list_url(sla="at_risk"),
    )
