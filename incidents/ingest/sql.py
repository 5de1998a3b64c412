"""The hand-written SQL of the pipeline: full-row inserts built from model metadata, the upserts, and
the one-statement path for a repeated trigger. Identifiers come from model metadata and constants;
every value is a query parameter."""

from __future__ import annotations

from incidents.models import OPEN_STATUSES
from opsplatform.core.prepared import bound_cursor

# The open statuses as a SQL list, built from the model's constant (enum values, never input: hence
# the S608 waivers below). The ON CONFLICT predicate restates the partial unique index's condition,
# which the model builds from the same constant, so PostgreSQL infers the index.
OPEN_IN = "(" + ", ".join(f"'{status.value}'" for status in OPEN_STATUSES) + ")"


INCIDENT_UPSERT = (
    "ON CONFLICT (organization_id, dedup_key)"
    f" WHERE status IN {OPEN_IN} AND NOT dedup_key = ''"
    # A no-op update: it locks the winner's row and returns it (xmax = 0 only when inserted). Rows
    # come back keyed: a statement of many rows need not return them in the order given.
    " DO UPDATE SET dedup_key = EXCLUDED.dedup_key"
    " RETURNING id, (xmax = 0) AS inserted, status, dedup_key"
)
STANDALONE_UPSERT = (
    "ON CONFLICT (organization_id, dedup_key) WHERE standalone DO UPDATE SET"
    " occurrences = incidents_alert.occurrences"
    "   + CASE WHEN EXCLUDED.status = 'firing' THEN 1 ELSE 0 END,"
    " last_seen_at = EXCLUDED.last_seen_at, status = EXCLUDED.status,"
    " resolved_at = EXCLUDED.resolved_at, raw_payload_id = EXCLUDED.raw_payload_id,"
    " integration_id = EXCLUDED.integration_id,"
    " occurrence_key = CASE WHEN EXCLUDED.occurrence_key = '' THEN incidents_alert.occurrence_key"
    "   ELSE EXCLUDED.occurrence_key END,"
    " suppressed = incidents_alert.suppressed OR EXCLUDED.suppressed,"
    " suppressed_reason = CASE WHEN EXCLUDED.suppressed THEN EXCLUDED.suppressed_reason"
    "   ELSE incidents_alert.suppressed_reason END,"
    " suppressed_window_id = CASE WHEN EXCLUDED.suppressed THEN EXCLUDED.suppressed_window_id"
    "   ELSE incidents_alert.suppressed_window_id END,"
    " title = CASE WHEN EXCLUDED.status = 'firing' THEN EXCLUDED.title"
    "   ELSE incidents_alert.title END,"
    " severity = CASE WHEN EXCLUDED.status = 'firing' THEN EXCLUDED.severity"
    "   ELSE incidents_alert.severity END,"
    " labels = CASE WHEN EXCLUDED.status = 'firing' THEN EXCLUDED.labels"
    "   ELSE incidents_alert.labels END"
    # The same episode in the same state again (a re-send) changes nothing.
    " WHERE NOT (incidents_alert.status = EXCLUDED.status AND EXCLUDED.occurrence_key <> ''"
    "   AND incidents_alert.occurrence_key = EXCLUDED.occurrence_key)"
    " RETURNING id"
)


# --- one request's batch (``incidents.ingest.batch``) -------------------------------------------

# Per dedup key, its latest active alert, the incident holding it and whether that is still open.
# The incident's status is read by its primary key for each alert found, never by a join: for a
# join the planner compares a hash of the whole incidents table with one index lookup an alert,
# and at a few thousand incidents chose the scan of them all (a cost that grows with the table),
# whether it planned the statement for the keys at hand or once for any keys (it is prepared).
ACTIVE_ALERTS = (
    "SELECT DISTINCT ON (a.dedup_key) a.dedup_key, a.id, a.incident_id, a.status,"  # noqa: S608
    f" a.occurrence_key, (SELECT i.status IN {OPEN_IN} FROM incidents_incident i WHERE i.id = a.incident_id)"
    " FROM incidents_alert a"
    " WHERE a.organization_id = %s AND a.dedup_key = ANY(%s) AND a.active AND a.incident_id IS NOT NULL"
    " ORDER BY a.dedup_key, a.id DESC"
)
# Ingestion locks an incident FOR NO KEY UPDATE, the lock its own UPDATEs take: it excludes every
# other writer of the row as FOR UPDATE does, but not the transactions that only insert rows pointing
# at it (an escalation's pages, an automation's tasks: their foreign key holds it FOR KEY SHARE until
# they commit). With FOR UPDATE, every repeat of a new incident's key waited for those.
LOCK_OPEN_INCIDENTS = (
    f"SELECT id, status FROM incidents_incident WHERE id = ANY(%s) AND status IN {OPEN_IN}"  # noqa: S608
    " ORDER BY id FOR NO KEY UPDATE"
)
LOCK_OPEN_INCIDENT = (
    f"SELECT id, status FROM incidents_incident WHERE id = %s AND status IN {OPEN_IN}"  # noqa: S608
    " FOR NO KEY UPDATE"
)
# Locks the incident (if still open) and counts one occurrence in the same statement.
COUNT_OCCURRENCE = (
    "UPDATE incidents_incident SET alert_occurrences = alert_occurrences + 1, last_alert_at = %s"  # noqa: S608
    f" WHERE id = %s AND status IN {OPEN_IN} RETURNING id, status"
)
# The counters of a request's incidents, added in one statement (rows this request has locked).
BUMP_COUNTERS = (
    "UPDATE incidents_incident AS i SET alerts_total = i.alerts_total + b.total,"
    " alerts_firing = GREATEST(i.alerts_firing + b.firing, 0),"
    " alert_occurrences = i.alert_occurrences + b.occurrences, last_alert_at = %s"
    " FROM unnest(%s::bigint[], %s::integer[], %s::integer[], %s::integer[])"
    "   AS b(id, total, firing, occurrences) WHERE i.id = b.id"
)
# Renames an expired group's key (alerts already in it still find it by their own rows).
SEAL_EXPIRED_GROUP = (
    "UPDATE incidents_incident SET dedup_key = left(dedup_key, 200) || '#' || id::text"  # noqa: S608
    f" WHERE organization_id = %s AND dedup_key = %s AND status IN {OPEN_IN} AND created_at < %s"
)
# The alert's row as it was, and its update, skipped for a re-send of the same episode.
FIRE_IN_INCIDENT = (
    "WITH old AS (SELECT id, status, occurrence_key FROM incidents_alert"
    "   WHERE incident_id = %(incident)s AND dedup_key = %(key)s ORDER BY id DESC LIMIT 1),"
    " changed AS (UPDATE incidents_alert AS a SET occurrences = a.occurrences + 1,"
    "   last_seen_at = %(now)s, status = 'firing', resolved_at = NULL, active = true,"
    "   occurrence_key = CASE WHEN %(occ)s = '' THEN a.occurrence_key ELSE %(occ)s END,"
    "   raw_payload_id = %(payload)s"
    "   FROM old WHERE a.id = old.id"
    "   AND NOT (old.status = 'firing' AND %(occ)s <> '' AND old.occurrence_key = %(occ)s)"
    "   RETURNING a.id)"
    " SELECT old.id, old.status, (SELECT count(*) FROM changed) FROM old"
)
STANDALONE_RECORDS = (
    "SELECT dedup_key, status, occurrence_key FROM incidents_alert"
    " WHERE organization_id = %s AND dedup_key = ANY(%s) AND standalone"
)
HAS_STANDALONE = "SELECT 1 FROM incidents_alert WHERE organization_id = %s AND dedup_key = %s AND standalone"
RESOLVE_ALERT = (
    "UPDATE incidents_alert SET status = 'resolved', resolved_at = %s, last_seen_at = %s,"
    " raw_payload_id = %s WHERE incident_id = %s AND dedup_key = %s AND status = 'firing'"
    " RETURNING id"
)
COUNT_ALERTS = (
    "SELECT count(*) FILTER (WHERE status = 'firing'), count(*) FROM incidents_alert WHERE incident_id = %s"
)
SET_ALERT_COUNTERS = (
    "UPDATE incidents_incident SET alerts_firing = %s, alerts_total = %s, last_alert_at = %s WHERE id = %s"
)


def fetchone(sql: str, params) -> tuple | None:
    with bound_cursor(params) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def execute(sql: str, params) -> int:
    with bound_cursor(params) as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def deactivate_alerts(incident_id: int) -> None:
    execute("UPDATE incidents_alert SET active = false WHERE incident_id = %s AND active", [incident_id])


def is_retryable(exc: Exception) -> bool:
    cause = exc.__cause__
    sqlstate = getattr(cause, "sqlstate", None)
    # deadlock_detected, serialization_failure, unique_violation (a race lost to a concurrent insert)
    return sqlstate in ("40P01", "40001", "23505")


REPEAT_SQL = (
    # The incident is locked first (``fired`` reads ``target``), like everywhere else.
    "WITH target AS (SELECT i.id FROM incidents_incident i"  # noqa: S608
    "   WHERE i.id = (SELECT a.incident_id FROM incidents_alert a WHERE a.organization_id = %(org)s"
    "     AND a.dedup_key = %(key)s AND a.active ORDER BY a.id DESC LIMIT 1)"
    f"   AND i.status IN {OPEN_IN} FOR NO KEY UPDATE),"
    " fired AS (UPDATE incidents_alert AS a SET occurrences = a.occurrences + 1, last_seen_at = %(now)s,"
    "   raw_payload_id = %(payload)s FROM target"
    "   WHERE a.incident_id = target.id AND a.dedup_key = %(key)s AND a.status = 'firing'"
    "   RETURNING a.id, a.incident_id),"
    " counted AS (UPDATE incidents_incident AS i"
    "   SET alert_occurrences = i.alert_occurrences + 1, last_alert_at = %(now)s"
    "   FROM (SELECT DISTINCT incident_id FROM fired) f WHERE i.id = f.incident_id RETURNING i.id),"
    " first AS (SELECT min(id) AS alert, min(incident_id) AS incident FROM fired),"
    " stored AS (INSERT INTO incidents_rawpayload"
    "   (id, organization_id, integration_id, received_at, content_type, body, size, truncated, result)"
    "   SELECT %(payload)s, %(org)s, %(integration)s, %(now)s, %(content_type)s, %(body)s, %(size)s,"
    "   %(truncated)s, jsonb_build_array(jsonb_build_object('dedup_key', %(key)s::text, 'status', 'firing',"
    "     'outcome', 'deduplicated', 'incident', first.incident, 'alert', first.alert))"
    "   FROM first WHERE first.alert IS NOT NULL RETURNING id)"
    " SELECT first.alert, first.incident, (SELECT count(*) FROM counted), (SELECT count(*) FROM stored)"
    " FROM first"
)


# The keys among a group's that have a firing alert at all (by the partial index of active alerts):
# the others are no repeats, and their requests start the full path before the group's write commits.
FIRING_KEYS_SQL = (
    "SELECT DISTINCT a.dedup_key FROM incidents_alert a WHERE a.organization_id = %(org)s"
    " AND a.dedup_key = ANY(%(keys)b::text[]) AND a.active AND a.status = 'firing'"
)

# ``REPEAT_SQL`` for the repeated triggers of many requests of one organization at once (group
# commit, ``incidents.ingest.group_commit``): one statement, one commit. Their incidents are locked in
# id order, as every writer locks them. Each input row (in ``n`` order) gets its alert and incident,
# or NULLs when its key has no firing alert in an open incident (that request takes the full path).
# An incident another transaction holds is skipped, not waited for: its requests come back NULL and
# take the full path on their own threads, where they wait for it. Waiting here would stop every
# repeat of the process behind one slow transaction (an escalation tick, a new incident's insert).
REPEAT_MANY_SQL = (
    "WITH input AS (SELECT * FROM unnest(%(keys)b::text[], %(payloads)b::uuid[], %(integrations)b::bigint[],"  # noqa: S608
    "   %(ats)b::timestamptz[], %(content_types)b::text[], %(bodies)b::text[], %(sizes)b::integer[],"
    "   %(truncated)b::boolean[]) WITH ORDINALITY"
    "   AS t(key, payload, integration, at, content_type, body, size, truncated, n)),"
    " latest AS (SELECT DISTINCT ON (a.dedup_key) a.dedup_key, a.incident_id FROM incidents_alert a"
    "   WHERE a.organization_id = %(org)s AND a.dedup_key = ANY(%(keys)b::text[]) AND a.active"
    "   ORDER BY a.dedup_key, a.id DESC),"
    " target AS (SELECT i.id FROM incidents_incident i"
    f"   WHERE i.id IN (SELECT incident_id FROM latest) AND i.status IN {OPEN_IN} ORDER BY i.id"
    " FOR NO KEY UPDATE SKIP LOCKED),"
    " hit AS (SELECT input.*, latest.incident_id FROM input JOIN latest ON latest.dedup_key = input.key"
    "   JOIN target ON target.id = latest.incident_id),"
    " per_key AS (SELECT key, incident_id, count(*) AS times, max(at) AS at,"
    "   (array_agg(payload ORDER BY n DESC))[1] AS payload FROM hit GROUP BY key, incident_id),"
    " fired AS (UPDATE incidents_alert AS a SET occurrences = a.occurrences + p.times, last_seen_at = p.at,"
    "   raw_payload_id = p.payload FROM per_key p"
    "   WHERE a.incident_id = p.incident_id AND a.dedup_key = p.key AND a.status = 'firing'"
    "   RETURNING a.id, a.incident_id, a.dedup_key),"
    " first AS (SELECT dedup_key, min(id) AS alert, min(incident_id) AS incident FROM fired"
    "   GROUP BY dedup_key),"
    " per_incident AS (SELECT p.incident_id, sum(p.times) AS times, max(p.at) AS at FROM per_key p"
    "   JOIN first f ON f.dedup_key = p.key GROUP BY p.incident_id),"
    " counted AS (UPDATE incidents_incident AS i SET alert_occurrences = i.alert_occurrences + c.times,"
    "   last_alert_at = c.at FROM per_incident c WHERE i.id = c.incident_id RETURNING i.id),"
    " stored AS (INSERT INTO incidents_rawpayload"
    "   (id, organization_id, integration_id, received_at, content_type, body, size, truncated, result)"
    "   SELECT h.payload, %(org)s, h.integration, h.at, h.content_type, h.body, h.size, h.truncated,"
    "   jsonb_build_array(jsonb_build_object('dedup_key', h.key, 'status', 'firing',"
    "     'outcome', 'deduplicated', 'incident', f.incident, 'alert', f.alert))"
    "   FROM hit h JOIN first f ON f.dedup_key = h.key RETURNING id)"
    " SELECT input.n, f.alert, f.incident, (SELECT count(*) FROM stored), (SELECT count(*) FROM counted)"
    " FROM input LEFT JOIN first f ON f.dedup_key = input.key ORDER BY input.n"
)
