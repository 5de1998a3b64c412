"""One request's work inside its transaction: find and lock the incidents its alerts belong to, open
new ones with one ``INSERT … ON CONFLICT`` (``new_incidents``), attach, count, resolve and acknowledge,
then write the ledger entries and the raw payload (``incidents.ingest.settle``). New alerts and
counters are written together when something reads them (``pending``). ``incidents.ingest.pipeline``
runs it; see its docstring for the guarantees."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from incidents.ingest import sql
from incidents.ingest.alert_event import AlertEvent, EventAction
from incidents.ingest.new_incidents import IncidentOpener
from incidents.ingest.pending import PendingWrites
from incidents.ingest.results import EventResult, Result
from incidents.ingest.routing import Decision, Outcome
from incidents.ingest.sql import STANDALONE_UPSERT, deactivate_alerts, fetchone
from incidents.models import Alert, AlertStatus, Incident, Integration, Service, Severity
from opsplatform.core.actors import Actor
from opsplatform.core.prepared import bound_cursor, insert_params, insert_sql


@dataclass
class Touched:
    """An incident this request locked, and what happened to it."""

    incident: Incident
    created: bool = False
    attached: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    acknowledge: bool = False


class Batch:
    def __init__(self, *, integration: Integration, actor: Actor, payload_id, now):
        self.integration = integration
        self.organization_id = integration.organization_id
        self.actor = actor
        self.payload_id = payload_id
        self.now = now
        self.touched: dict[int, Touched] = {}
        self.by_key: dict[str, int] = {}
        self.active: dict[str, tuple[int | None, int]] = {}
        # dedup key -> the episode its alert is firing for, when it sits in an open incident.
        self.firing_episodes: dict[str, str] = {}
        # Dedup keys whose alert is firing in an open incident.
        self.firing: set[str] = set()
        # dedup key -> (status, episode) of its standalone record; None until looked up.
        self.standalone: dict[str, tuple[str, str]] | None = None
        # Incident keys whose incident ``open_incidents`` inserted and no event has claimed yet.
        self.fresh: set[str] = set()
        self.services: dict[int, Service | None] = {}
        if integration.service_id:
            self.services[integration.service_id] = integration.service
        self.opener = IncidentOpener(integration=integration, now=now, service=self._service)
        self.pending = PendingWrites(now)

    # --- lookups ---------------------------------------------------------------------------------
    def _service(self, service_id) -> Service | None:
        if service_id is None:
            return None
        if service_id not in self.services:
            self.services[service_id] = Service.objects.filter(
                pk=service_id, organization_id=self.organization_id
            ).first()
        return self.services[service_id]

    def prefetch(self, decisions: list[Decision]) -> None:
        """Find, in one query, the open incident of every alert the request mentions.

        A re-sent notification of an episode already firing in an open incident changes nothing, so
        it takes no lock: Alertmanager re-sends whole groups, and locking every incident of every
        re-send would make concurrent notifications queue behind each other for nothing. The
        incidents the other events will change are locked now, in one statement, in id order (the
        order every request uses)."""
        keys = sorted({d.event.dedup_key for d in decisions if d.outcome != Outcome.DROP})
        if not keys:
            return
        closed = set()
        with bound_cursor() as cursor:
            cursor.execute(sql.ACTIVE_ALERTS, [self.organization_id, keys])
            for key, alert_id, incident_id, status, occurrence, is_open in cursor.fetchall():
                if not is_open:
                    closed.add(incident_id)
                    continue
                self.active[key] = (alert_id, incident_id)
                if status == AlertStatus.FIRING:
                    self.firing.add(key)
                    if occurrence:
                        self.firing_episodes[key] = occurrence
        for incident_id in sorted(closed):
            deactivate_alerts(incident_id)
        episodic = [
            d.event.dedup_key
            for d in decisions
            if d.event.occurrence_key and d.event.dedup_key not in self.active
        ]
        if episodic:
            self._load_standalone(sorted(set(episodic)))
        wanted = sorted(
            {
                self.active[d.event.dedup_key][1]
                for d in decisions
                if d.event.dedup_key in self.active and not self._is_resend(d.event)
            }
        )
        if len(decisions) < 2 or not wanted:
            return
        with bound_cursor() as cursor:
            cursor.execute(sql.LOCK_OPEN_INCIDENTS, [wanted])
            for incident_id, status in cursor.fetchall():
                self.touched[incident_id] = Touched(
                    incident=Incident(pk=incident_id, organization_id=self.organization_id, status=status)
                )
        gone = set(wanted) - set(self.touched)
        for incident_id in sorted(gone):
            deactivate_alerts(incident_id)
        if gone:
            self.active = {k: v for k, v in self.active.items() if v[1] not in gone}
            self.firing_episodes = {k: v for k, v in self.firing_episodes.items() if k in self.active}

    def _is_resend(self, event: AlertEvent) -> bool:
        """A firing notification of the episode its alert is already firing for."""
        return (
            event.action == EventAction.TRIGGER
            and bool(event.occurrence_key)
            and self.firing_episodes.get(event.dedup_key) == event.occurrence_key[:64]
        )

    def _active_alert(self, dedup_key: str) -> tuple[int, int] | None:
        """(alert id, incident id) of the alert with this key in an incident believed open."""
        return self.active.get(dedup_key)

    def _lock_open(self, incident_id: int, *, count_occurrence: bool) -> Touched | None:
        """Lock the incident if it is still open (counting one occurrence on the way if asked)."""
        if incident_id in self.touched:
            if count_occurrence:
                self._bump(incident_id, occurrences=1)
            return self.touched[incident_id]
        if count_occurrence:
            row = fetchone(sql.COUNT_OCCURRENCE, [self.now, incident_id])
        else:
            row = fetchone(sql.LOCK_OPEN_INCIDENT, [incident_id])
        if row is None:
            # Closed since (resolved by a person, merged): its alerts no longer lead anywhere.
            deactivate_alerts(incident_id)
            return None
        touched = Touched(incident=Incident(pk=row[0], organization_id=self.organization_id, status=row[1]))
        self.touched[incident_id] = touched
        return touched

    def _bump(self, incident_id: int, *, total=0, firing=0, occurrences=0) -> None:
        self.pending.count(incident_id, total=total, firing=firing, occurrences=occurrences)

    def flush(self) -> None:
        """Write the pending alerts and counters (before anything reads them, and before settling)."""
        if self.fresh:
            # An incident was opened for an event that then went elsewhere: it would claim an alert
            # it does not hold. Roll the request back rather than store that.
            raise RuntimeError(f"incidents opened for no event: {sorted(self.fresh)}")
        self.pending.flush()

    # --- incidents -------------------------------------------------------------------------------
    def _opens_incident(self, decision: Decision) -> bool:
        """Whether the event will reach ``_upsert_incident`` as its request starts: a routed trigger
        of a key with no alert in an open incident, not the late firing of an episode resolved."""
        event = decision.event
        return (
            decision.outcome == Outcome.ROUTE
            and event.action == EventAction.TRIGGER
            and event.dedup_key not in self.active
            and not self._stale_refire(event)
        )

    def open_incidents(self, ordered: list[Decision]) -> None:
        """Open (or find and lock) in one statement the incidents the request's events will need, once
        ``prefetch`` has locked the open ones. Events that find they need one only later (their
        incident closed meanwhile) open it one at a time in ``_upsert_incident``."""
        wanted = [(d, *self.opener.key(d)) for d in ordered if self._opens_incident(d)]
        if wanted:
            self._take(self.opener.upsert(wanted))

    def written_meanwhile(self, decision: Decision) -> bool:
        """Whether another request wrote this event's key since its one-statement repeat missed:
        its alert is firing in an open incident (seen by ``prefetch``), or, ungrouped, its new
        incident was there when ``open_incidents`` went to insert it (after waiting for its writer
        to commit). Either way the event is now a repeat (see ``pipeline``)."""
        key = decision.event.dedup_key
        if key in self.firing:
            return True
        incident_key, group_key = self.opener.key(decision)
        return not group_key and incident_key in self.by_key and incident_key not in self.fresh

    def _take(self, upserted) -> None:
        for key, row in upserted.items():
            incident_id = row.incident.pk
            self.touched.setdefault(incident_id, Touched(incident=row.incident, created=row.inserted))
            self.by_key[key] = incident_id
            if row.inserted:
                self.fresh.add(key)

    def _upsert_incident(self, decision: Decision) -> tuple[Touched, bool]:
        """The open incident for the event's key, created if there is none; locked either way.
        ``inserted`` is true for the one event that claims a new incident as its own."""
        key, group_key = self.opener.key(decision)
        if key not in self.by_key:
            self._take(self.opener.upsert([(decision, key, group_key)]))
        inserted = key in self.fresh
        self.fresh.discard(key)
        return self.touched[self.by_key[key]], inserted

    # --- alerts ----------------------------------------------------------------------------------
    def _alert_values(self, decision: Decision, *, incident_id, status, **extra) -> dict:
        event = decision.event
        service = self._service(decision.service_id)
        return {
            "organization_id": self.organization_id,
            "integration_id": self.integration.pk,
            "incident_id": incident_id,
            "dedup_key": event.dedup_key,
            "group_key": event.group_key[:1024],
            "fingerprint": event.fingerprint[:255],
            "occurrence_key": event.occurrence_key[:64],
            "status": status,
            "title": (event.title or event.dedup_key)[:1024],
            "description": event.description,
            "severity": decision.severity or (service.default_severity if service else Severity.SEV3),
            "source": event.source[:255],
            "labels": decision.labels,
            "links": event.links,
            "occurrences": 1,
            "first_seen_at": self.now,
            "last_seen_at": self.now,
            "resolved_at": self.now if status == AlertStatus.RESOLVED else None,
            "raw_payload_id": self.payload_id,
            **extra,
        }

    def _fire_in(self, touched: Touched, event: AlertEvent) -> tuple[str, int, bool] | None:
        """Record a firing occurrence of an alert already in the locked incident: (outcome, alert id,
        whether an occurrence was counted), or None when the incident has no such alert.

        One statement: the alert's row as it was (consistent: we hold the incident's lock, which every
        writer of its alerts takes first) and the update, skipped for a re-send of the same episode."""
        self.pending.before_reading(touched.incident.pk, event.dedup_key)
        row = fetchone(
            sql.FIRE_IN_INCIDENT,
            {
                "now": self.now,
                "occ": event.occurrence_key[:64],
                "payload": self.payload_id,
                "incident": touched.incident.pk,
                "key": event.dedup_key,
            },
        )
        if row is None:
            return None
        alert_id, was, changed = row
        if not changed:
            return Result.DEDUPLICATED, alert_id, False  # the same episode again: nothing changes
        return (Result.REFIRED if was == AlertStatus.RESOLVED else Result.DEDUPLICATED), alert_id, True

    def _standalone(self, decision: Decision, *, status: str, suppressed: bool) -> tuple[bool, int | None]:
        """Upsert the alert's record outside any incident; (changed, alert id)."""
        window = decision.window
        values = self._alert_values(
            decision,
            incident_id=None,
            status=status,
            standalone=True,
            suppressed=suppressed,
            suppressed_reason=decision.reason[:255] if suppressed else "",
            suppressed_window_id=window.pk if (suppressed and window is not None) else None,
        )
        row = fetchone(insert_sql(Alert, STANDALONE_UPSERT), insert_params(Alert(**values)))
        return row is not None, (row[0] if row else None)

    def _stale_refire(self, event: AlertEvent) -> bool:
        """A firing notification of an episode whose resolve already arrived (out of order)."""
        if not event.occurrence_key:
            return False
        if self.standalone is None:
            self._load_standalone([event.dedup_key])
        row = self.standalone.get(event.dedup_key)
        return row is not None and row[0] == AlertStatus.RESOLVED and row[1] == event.occurrence_key[:64]

    def _load_standalone(self, keys: list[str]) -> None:
        """The records kept outside incidents (suppressed, or resolved before they fired) of ``keys``."""
        with bound_cursor() as cursor:
            cursor.execute(sql.STANDALONE_RECORDS, [self.organization_id, keys])
            self.standalone = {key: (status, occurrence) for key, status, occurrence in cursor.fetchall()}

    # --- events ----------------------------------------------------------------------------------
    def handle(self, decision: Decision) -> EventResult:
        event = decision.event
        result = EventResult(dedup_key=event.dedup_key, status=event.status, outcome=Result.IGNORED)
        if decision.outcome == Outcome.DROP:
            result.outcome, result.reason = Result.DROPPED, decision.reason
            return result
        if self._is_resend(event):
            result.alert_id, result.incident_id = self.active[event.dedup_key]
            result.outcome = Result.DEDUPLICATED
            return result
        if event.action == EventAction.TRIGGER:
            return self._trigger(decision, result)
        if event.action == EventAction.RESOLVE:
            return self._resolve(decision, result)
        return self._acknowledge(decision, result)

    def _trigger(self, decision: Decision, result: EventResult) -> EventResult:
        event = decision.event
        found = self._active_alert(event.dedup_key)
        touched = None
        # Events without an episode id all count: take the lock and count in one statement.
        counted_on_lock = not event.occurrence_key
        if found is not None:
            touched = self._lock_open(found[1], count_occurrence=counted_on_lock)
        if touched is not None:
            fired = self._fire_in(touched, event)
            if fired is not None:
                return self._fired(touched, fired, result, counted_on_lock=counted_on_lock)
        if decision.outcome == Outcome.SUPPRESS:
            changed, alert_id = self._standalone(decision, status=AlertStatus.FIRING, suppressed=True)
            result.outcome = Result.SUPPRESSED if changed else Result.DEDUPLICATED
            result.alert_id, result.reason = alert_id, decision.reason
            return result
        if self._stale_refire(event):
            result.reason = "already resolved"
            return result
        touched, inserted = self._upsert_incident(decision)
        incident_id = touched.incident.pk
        result.incident_id = incident_id
        if not inserted:
            fired = self._fire_in(touched, event)
            if fired is not None:
                return self._fired(touched, fired, result, counted_on_lock=False)
        values = self._alert_values(decision, incident_id=incident_id, status=AlertStatus.FIRING, active=True)
        self.pending.alert(values, result)
        if inserted:
            result.outcome = Result.CREATED
            return result
        result.outcome = Result.ATTACHED
        touched.attached.append(event.dedup_key)
        self._bump(incident_id, total=1, firing=1, occurrences=1)
        return result

    def _fired(self, touched: Touched, fired, result: EventResult, *, counted_on_lock: bool) -> EventResult:
        outcome, alert_id, counted = fired
        if outcome == Result.REFIRED:
            touched.attached.append(result.dedup_key)
        self._bump(
            touched.incident.pk,
            firing=1 if outcome == Result.REFIRED else 0,
            occurrences=1 if counted and not counted_on_lock else 0,
        )
        result.outcome, result.incident_id, result.alert_id = outcome, touched.incident.pk, alert_id
        return result

    def _resolve(self, decision: Decision, result: EventResult) -> EventResult:
        event = decision.event
        found = self._active_alert(event.dedup_key)
        touched = self._lock_open(found[1], count_occurrence=False) if found else None
        if touched is not None:
            self.pending.before_reading(touched.incident.pk, event.dedup_key)
            row = fetchone(
                sql.RESOLVE_ALERT, [self.now, self.now, self.payload_id, touched.incident.pk, event.dedup_key]
            )
            result.incident_id = touched.incident.pk
            if row is None:
                result.outcome, result.alert_id = Result.DEDUPLICATED, found[0]
                return result
            touched.resolved.append(event.dedup_key)
            result.outcome, result.alert_id = Result.RESOLVED, row[0]
            return result
        # No open incident has it. Alertmanager may deliver the resolve before the firing: remember
        # the episode so its late firing opens nothing. Other sources' resolves for unknown keys are
        # accepted and dropped (PagerDuty semantics), unless a suppressed record waits for them.
        if event.occurrence_key or self._has_standalone(event.dedup_key):
            changed, alert_id = self._standalone(decision, status=AlertStatus.RESOLVED, suppressed=False)
            result.alert_id = alert_id
            result.outcome = Result.IGNORED if changed else Result.DEDUPLICATED
        return result

    def _has_standalone(self, dedup_key: str) -> bool:
        return fetchone(sql.HAS_STANDALONE, [self.organization_id, dedup_key]) is not None

    def _acknowledge(self, decision: Decision, result: EventResult) -> EventResult:
        found = self._active_alert(decision.event.dedup_key)
        touched = self._lock_open(found[1], count_occurrence=False) if found else None
        if touched is None:
            return result  # PagerDuty: an acknowledge for an unknown dedup key is accepted and dropped
        touched.acknowledge = True
        result.outcome, result.incident_id, result.alert_id = (
            Result.ACKNOWLEDGED,
            touched.incident.pk,
            found[0],
        )
        return result

    # --- after every event: state changes, ledger, payload -------------------------------------
    def record_ping(self) -> None:
        """A heartbeat ping re-arms the timer. Done first in the transaction: the heartbeat tick locks
        the integration row before any incident, and so must everyone else."""
        integration = self.integration
        span = (integration.heartbeat_period_seconds or 0) + integration.heartbeat_grace_seconds
        Integration.objects.filter(pk=integration.pk).update(
            last_ping_at=self.now, next_check_at=self.now + timedelta(seconds=span)
        )
