"""Alert ingestion: integration endpoints, payload formats, routing, maintenance, and the dedup pipeline.

One request flows through:

1. ``views``: authenticate the integration key (path or bearer), throttle, bound and parse the body.
2. ``formats.<kind>``: validate the vendor's shape and normalize it into ``alert_event.AlertEvent`` objects.
3. ``routing``: the integration's ordered rules decide drop, suppress, or route (service, severity…);
   ``maintenance`` turns routed triggers inside an active window into suppressed records.
4. ``pipeline``: in one transaction, upsert incidents (one open incident per organization and dedup
   key, guaranteed by the partial unique index and ``INSERT … ON CONFLICT``), attach alerts, count
   occurrences, group, resolve; the raw payload and the ledger entries commit with them.
5. After commit: realtime events, and the integration's counters in Redis (flushed by a beat tick).
"""
