"""The incidents a request opens: built from the first event of each key, and written in one
``INSERT … ON CONFLICT`` for the whole request (``incidents.ingest.batch`` decides which events open
one; ``upsert`` writes them).

One statement instead of one per new incident matters under a storm: from the first new row on, the
request holds that incident's lock until it commits, and any concurrent request repeating the key
waits for it. Fewer round trips after the first lock is a shorter wait for everyone behind it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from incidents.ingest import lookup_cache, sql
from incidents.ingest.formats.common import digest
from incidents.ingest.routing import Decision, default_priority
from incidents.models import Incident, Integration, Service, Severity, Status
from incidents.sla.policy import SLA_FIELDS, apply_policy, policy_for, refresh_timer
from opsplatform.core.prepared import bound_cursor, insert_statement


@dataclass
class Upserted:
    """The open incident of one key after the upsert: the new row, or the one already there."""

    incident: Incident
    inserted: bool


class IncidentOpener:
    def __init__(self, *, integration: Integration, now, service: Callable[[int | None], Service | None]):
        self.integration = integration
        self.organization_id = integration.organization_id
        self.now = now
        self.service = service
        # (service, severity, team) -> the SLA fields a new incident of that shape gets.
        self.sla_layouts: dict[tuple, dict] = {}

    def key(self, decision: Decision) -> tuple[str, str]:
        """(the incident's dedup key, its group key) for a new alert."""
        event = decision.event
        if self.integration.grouping and event.group_key:
            # Hashed: group keys can be long, and a sealed incident's key gets "#<id>" appended.
            return f"group:{self.integration.pk}:{digest(event.group_key, length=40)}", event.group_key
        return event.dedup_key, ""

    def upsert(self, wanted: list[tuple[Decision, str, str]]) -> dict[str, Upserted]:
        """The open incident of each (decision, key, group key), created where there is none, and
        locked either way, by key: in sorted key order, the order every request locks new incidents in.
        The first decision of a key builds its incident."""
        first: dict[str, tuple[Decision, str]] = {}
        for decision, key, group_key in wanted:
            first.setdefault(key, (decision, group_key))
        keys = sorted(first)
        for key in keys:
            if first[key][1]:
                self._seal_expired_group(key)
        incidents = [self._build(first[key][0], key, first[key][1]) for key in keys]
        statement, params = insert_statement(Incident, incidents, sql.INCIDENT_UPSERT)
        with bound_cursor(params) as cursor:
            cursor.execute(statement, params)
            rows = cursor.fetchall()
        built = {incident.dedup_key: incident for incident in incidents}
        upserted = {}
        for incident_id, inserted, status, key in rows:
            if inserted:
                incident = built[key]
                incident.pk = incident_id
            else:
                incident = Incident(pk=incident_id, organization_id=self.organization_id, status=status)
            upserted[key] = Upserted(incident=incident, inserted=inserted)
        return upserted

    def _seal_expired_group(self, key: str) -> None:
        """A group's incident older than the window stops collecting new alerts: its key is renamed
        (alerts already in it still find it by their own rows) so the next alert opens a new one."""
        window = self.integration.group_window_seconds
        if not window:
            return
        sql.execute(sql.SEAL_EXPIRED_GROUP, [self.organization_id, key, self.now - timedelta(seconds=window)])

    def _build(self, decision: Decision, key: str, group_key: str) -> Incident:
        event = decision.event
        service = self.service(decision.service_id)
        team_id = decision.team_id or (service.owner_team_id if service else None)
        incident = Incident(
            organization_id=self.organization_id,
            title=(event.title.strip() or event.dedup_key)[:255],
            description=event.description,
            service=service,
            team_id=team_id,
            severity=decision.severity or (service.default_severity if service else Severity.SEV3),
            priority=default_priority(decision),
            labels=decision.labels,
            source=self.integration.kind,
            dedup_key=key,
            group_key=group_key[:1024],  # the whole key is in the dedup key's digest
            integration_id=self.integration.pk,
            status=Status.TRIGGERED,
            created_at=self.now,
            updated_at=self.now,
            # A service under maintenance records its incidents but pages nobody.
            next_escalation_at=None if (service and service.in_maintenance) else self.now,
            alerts_total=1,
            alerts_firing=1,
            alert_occurrences=1,
            last_alert_at=self.now,
        )
        layout_key = (incident.service_id, incident.severity, incident.team_id)
        layout = self.sla_layouts.get(layout_key)
        if layout is None:
            # One policy lookup per shape of incident in a request, however many of them it opens.
            apply_policy(incident, start=self.now, lookup=_cached_policy)
            layout = {field: getattr(incident, field) for field in SLA_FIELDS}
            self.sla_layouts[layout_key] = layout
        else:
            for field, value in layout.items():
                setattr(incident, field, value)
        refresh_timer(incident)
        return incident


def _cached_policy(incident: Incident):
    return lookup_cache.cache.sla_policy(
        incident.organization_id, incident.service_id, incident.severity, lambda: policy_for(incident)
    )
