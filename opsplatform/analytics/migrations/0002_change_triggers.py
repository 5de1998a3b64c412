"""Triggers that tell the rollups what changed, whatever wrote it (services, the ingestion upsert,
the escalation tick's raw UPDATE, the SLA tick, a cascade).

* incidents: an insert, a delete, or an update of a column a figure depends on logs the incident's
  ``created_at`` (its rollup day); the first acknowledgement is kept in ``analytics_incidentfact``
  because a re-trigger clears ``acknowledged_at``. Updates of other columns (alert counters,
  escalation timers) do not even call the function: the WHEN clause filters them.
* notifications: a delivery sent (or un-sent) logs its ``sent_at`` (the on-call rollup's day); a row
  for a second step or a repeated round marks its incident escalated and logs the incident's day.
"""

from django.db import migrations

INCIDENT_COLUMNS = (
    "created_at, acknowledged_at, resolved_at, severity, service_id, team_id, status, ack_due_at, "
    "resolve_due_at, ack_breached_at, resolve_breached_at, integration_id, source, alerts_total"
)
OLD = ", ".join(f"OLD.{c.strip()}" for c in INCIDENT_COLUMNS.split(","))
NEW = ", ".join(f"NEW.{c.strip()}" for c in INCIDENT_COLUMNS.split(","))

FORWARD = f"""
CREATE FUNCTION analytics_incident_changed() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO analytics_rollupchange (organization_id, kind, at)
        VALUES (OLD.organization_id, 1, OLD.created_at);
        RETURN OLD;
    END IF;
    INSERT INTO analytics_rollupchange (organization_id, kind, at)
    VALUES (NEW.organization_id, 1, NEW.created_at);
    IF TG_OP = 'UPDATE' AND OLD.created_at IS DISTINCT FROM NEW.created_at THEN
        INSERT INTO analytics_rollupchange (organization_id, kind, at)
        VALUES (OLD.organization_id, 1, OLD.created_at);
    END IF;
    IF NEW.acknowledged_at IS NOT NULL THEN
        INSERT INTO analytics_incidentfact (incident_id, first_ack_at, escalated)
        VALUES (NEW.id, NEW.acknowledged_at, false)
        ON CONFLICT (incident_id) DO UPDATE SET first_ack_at = EXCLUDED.first_ack_at
        WHERE analytics_incidentfact.first_ack_at IS NULL;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER analytics_incident_insert AFTER INSERT ON incidents_incident
    FOR EACH ROW EXECUTE FUNCTION analytics_incident_changed();
CREATE TRIGGER analytics_incident_delete AFTER DELETE ON incidents_incident
    FOR EACH ROW EXECUTE FUNCTION analytics_incident_changed();
CREATE TRIGGER analytics_incident_update AFTER UPDATE ON incidents_incident
    FOR EACH ROW WHEN (({OLD}) IS DISTINCT FROM ({NEW}))
    EXECUTE FUNCTION analytics_incident_changed();

CREATE FUNCTION analytics_delivery_changed() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' AND (NEW.step > 0 OR NEW.cycle > 0) THEN
        INSERT INTO analytics_incidentfact (incident_id, first_ack_at, escalated)
        VALUES (NEW.incident_id, NULL, true)
        ON CONFLICT (incident_id) DO UPDATE SET escalated = true
        WHERE NOT analytics_incidentfact.escalated;
        INSERT INTO analytics_rollupchange (organization_id, kind, at)
        SELECT i.organization_id, 1, i.created_at FROM incidents_incident i WHERE i.id = NEW.incident_id;
    END IF;
    IF NEW.recipient_id IS NOT NULL AND NEW.sent_at IS NOT NULL THEN
        INSERT INTO analytics_rollupchange (organization_id, kind, at)
        VALUES (NEW.organization_id, 2, NEW.sent_at);
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.recipient_id IS NOT NULL AND OLD.sent_at IS NOT NULL
       AND OLD.sent_at IS DISTINCT FROM NEW.sent_at THEN
        INSERT INTO analytics_rollupchange (organization_id, kind, at)
        VALUES (OLD.organization_id, 2, OLD.sent_at);
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER analytics_delivery_insert AFTER INSERT ON notifications_notification
    FOR EACH ROW EXECUTE FUNCTION analytics_delivery_changed();
CREATE TRIGGER analytics_delivery_update AFTER UPDATE ON notifications_notification
    FOR EACH ROW WHEN (
        (OLD.status, OLD.sent_at, OLD.recipient_id) IS DISTINCT FROM (NEW.status, NEW.sent_at, NEW.recipient_id)
    )
    EXECUTE FUNCTION analytics_delivery_changed();

-- The on-call rollup reads deliveries by the time they were sent; nothing else does.
CREATE INDEX IF NOT EXISTS analytics_delivery_sent_idx ON notifications_notification (organization_id, sent_at)
    WHERE sent_at IS NOT NULL AND recipient_id IS NOT NULL;

-- What existed before the triggers: the best knowledge of first acknowledgements and escalations.
INSERT INTO analytics_incidentfact (incident_id, first_ack_at, escalated)
SELECT i.id, i.acknowledged_at,
       EXISTS (SELECT 1 FROM notifications_notification n
               WHERE n.incident_id = i.id AND (n.step > 0 OR n.cycle > 0))
FROM incidents_incident i
WHERE i.acknowledged_at IS NOT NULL
   OR EXISTS (SELECT 1 FROM notifications_notification n
              WHERE n.incident_id = i.id AND (n.step > 0 OR n.cycle > 0));
"""

BACKWARD = """
DROP INDEX IF EXISTS analytics_delivery_sent_idx;
DROP TRIGGER IF EXISTS analytics_incident_insert ON incidents_incident;
DROP TRIGGER IF EXISTS analytics_incident_delete ON incidents_incident;
DROP TRIGGER IF EXISTS analytics_incident_update ON incidents_incident;
DROP FUNCTION IF EXISTS analytics_incident_changed();
DROP TRIGGER IF EXISTS analytics_delivery_insert ON notifications_notification;
DROP TRIGGER IF EXISTS analytics_delivery_update ON notifications_notification;
DROP FUNCTION IF EXISTS analytics_delivery_changed();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0001_initial"),
        ("incidents", "0004_ingestion"),
        ("notifications", "0002_cover_status"),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
