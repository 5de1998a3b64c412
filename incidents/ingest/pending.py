"""A request's new alerts and incident counters, held back and written together: one multi-row
``INSERT`` for the alerts and one ``UPDATE`` for the counters, instead of a statement per event.

The batch flushes them before a statement reads an alert still pending (a later event of its key in
the same incident) and before it settles, so nothing in the transaction ever sees one missing. The incidents
they touch are already locked by the request, so deferring the writes changes no lock order."""

from __future__ import annotations

from incidents.ingest import sql
from incidents.ingest.results import EventResult
from incidents.models import Alert
from opsplatform.core.prepared import bound_cursor, insert_statement

ALERT_RETURNING = "RETURNING id, incident_id, dedup_key"


class PendingWrites:
    def __init__(self, now):
        self.now = now
        self.alerts: list[tuple[Alert, EventResult]] = []
        self.alert_keys: set[tuple[int, str]] = set()
        # incident id -> [alerts total, alerts firing, occurrences] to add
        self.counters: dict[int, list[int]] = {}

    def alert(self, values: dict, result: EventResult) -> None:
        """Insert an alert at the next flush; its id lands in ``result.alert_id`` then."""
        self.alerts.append((Alert(**values), result))
        self.alert_keys.add((values["incident_id"], values["dedup_key"]))

    def before_reading(self, incident_id: int, dedup_key: str) -> None:
        """Flush if the alert about to be read is one of the pending."""
        if (incident_id, dedup_key) in self.alert_keys:
            self.flush()

    def count(self, incident_id: int, *, total=0, firing=0, occurrences=0) -> None:
        if not (total or firing or occurrences):
            return
        added = self.counters.setdefault(incident_id, [0, 0, 0])
        added[0] += total
        added[1] += firing
        added[2] += occurrences

    def flush(self) -> None:
        if self.alerts:
            self._insert_alerts()
        if self.counters:
            ids = sorted(self.counters)
            totals, firing, occurrences = zip(*(self.counters[i] for i in ids), strict=True)
            sql.execute(sql.BUMP_COUNTERS, [self.now, ids, list(totals), list(firing), list(occurrences)])
            self.counters = {}

    def _insert_alerts(self) -> None:
        alerts, self.alerts = self.alerts, []
        self.alert_keys = set()
        statement, params = insert_statement(Alert, [alert for alert, _ in alerts], ALERT_RETURNING)
        with bound_cursor(params) as cursor:
            cursor.execute(statement, params)
            # A request holds one pending alert per (incident, key): a second event of the key
            # flushes before it looks for the first one's row.
            ids = {(incident_id, key): alert_id for alert_id, incident_id, key in cursor.fetchall()}
        for alert, result in alerts:
            result.alert_id = ids[(alert.incident_id, alert.dedup_key)]
