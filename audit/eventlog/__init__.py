"""The event-log port: raw alert payloads, notification attempts and monitor check results are
append-only, high-volume logs. They live in PostgreSQL (their tables, the default) or, when
``EVENT_LOGS_BACKEND`` is ``mongo`` (the default once ``MONGO_URL`` is set), in MongoDB: one
collection per log, TTL-expired, written after commit through a bounded buffer that spills to a
PostgreSQL outbox while MongoDB is away. Writers and readers only ever talk to an :class:`EventLog`.
"""

from audit.eventlog.log import EventLog, backend_name, registered

__all__ = ["EventLog", "backend_name", "registered"]
