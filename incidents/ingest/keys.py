"""Integration keys: generated here, shown once, stored as SHA-256 digests, looked up on every request.

The lookup is the hottest read of ingestion, so it is one hand-written query: the integration with
its organization and default service, its enabled routing rules (as JSON, in evaluation order) and
whether the organization has any maintenance window that could be active, so a request without
one skips that query. The windows that could be active come with it (as JSON), so a request never
needs a query of its own for them either. Each web process keeps the answers, invalidated on every
change (``incidents.ingest.lookup_cache``).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, time
from functools import lru_cache

from incidents.ingest import lookup_cache
from incidents.models import Integration, IntegrationKind, MaintenanceWindow, RoutingRule, Service
from opsplatform.accounts.models import Organization
from opsplatform.core.prepared import fetchone_prepared, model_from_row, select_columns

KEY_PREFIX = "opi_"
# What a key in a URL path looks like; never matches a numeric id, so ingestion routes cannot shadow
# the management API's /api/v1/integrations/<id>/… routes (or the other way round).
KEY_REGEX = r"opi_[A-Za-z0-9_-]{16,200}"
MAX_KEY_LENGTH = 256
RULE_FIELDS = (
    "id",
    "name",
    "matchers",
    "action",
    "route_service_id",
    "route_team_id",
    "set_severity",
    "set_priority",
    "add_labels",
)
# What ``maintenance.is_active`` and ``covering_window`` read of a window.
WINDOW_FIELDS = (
    "id",
    "name",
    "service_id",
    "matchers",
    "recurrence",
    "starts_at",
    "ends_at",
    "weekdays",
    "start_time",
    "duration_minutes",
    "time_zone",
    "enabled",
)


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(24)


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_prefix(key: str) -> str:
    return key[: len(KEY_PREFIX) + 6]


@dataclass
class IngestTarget:
    """An integration ready for the pipeline: rules loaded, and the organization's maintenance windows
    that may be active (a superset: the pipeline settles each at the event's instant)."""

    integration: Integration
    rules: list[RoutingRule]
    windows: list[MaintenanceWindow]
    # When the key used stops working by itself (a rotated key's overlap ends); None: it does not.
    expires_at: datetime | None = None

    @property
    def maybe_maintenance(self) -> bool:
        return bool(self.windows)


@lru_cache(maxsize=1)
def _lookup_sql() -> str:
    rule_json = ", ".join(f"'{name}', r.{name}" for name in RULE_FIELDS)
    window_json = ", ".join(f"'{name}', w.{name}" for name in WINDOW_FIELDS)
    columns = [
        select_columns(Integration, "i"),
        select_columns(Organization, "o"),
        select_columns(Service, "s"),
    ]
    # Identifiers come from model metadata; every value is a parameter.
    return (
        f"SELECT {', '.join(columns)},"  # noqa: S608
        f" (SELECT coalesce(json_agg(json_build_object({rule_json}) ORDER BY r.position, r.id), '[]'::json)"
        "   FROM incidents_routingrule r WHERE r.integration_id = i.id AND r.enabled),"
        f" (SELECT coalesce(json_agg(json_build_object({window_json}) ORDER BY w.id), '[]'::json)"
        "   FROM incidents_maintenancewindow w WHERE w.organization_id = i.organization_id"
        "   AND w.enabled AND (w.recurrence = 'weekly' OR w.ends_at > now()))"
        " FROM incidents_integration i"
        " JOIN accounts_organization o ON o.id = i.organization_id"
        " LEFT JOIN incidents_service s ON s.id = i.service_id"
        " WHERE (i.key_hash = %s OR (i.previous_key_hash = %s AND i.previous_key_expires_at > now()))"
        " AND i.enabled AND i.kind = %s LIMIT 1"
    )


def load_target(key: str | None, *, kind: str) -> IngestTarget | None:
    """The enabled integration of ``kind`` whose current (or still overlapping previous) key this is."""
    if not key or len(key) > MAX_KEY_LENGTH or not key.startswith(KEY_PREFIX):
        return None
    digest = key_digest(key)
    if kind == IntegrationKind.HEARTBEAT:
        return _load(digest, kind)
    return lookup_cache.cache.key_target(digest, kind, lambda: _load(digest, kind))


def _load(digest: str, kind: str) -> IngestTarget | None:
    row = fetchone_prepared(_lookup_sql(), [digest, digest, kind])
    if row is None:
        return None
    n_integration = len(Integration._meta.concrete_fields)
    n_organization = len(Organization._meta.concrete_fields)
    integration = model_from_row(Integration, row[:n_integration])
    integration.organization = model_from_row(
        Organization, row[n_integration : n_integration + n_organization]
    )
    service_values = row[n_integration + n_organization : -2]
    integration.service = model_from_row(Service, service_values) if service_values[0] is not None else None
    raw_rules = row[-2]
    rules = [
        RoutingRule(organization_id=integration.organization_id, integration_id=integration.pk, **rule)
        for rule in (json.loads(raw_rules) if isinstance(raw_rules, str) else raw_rules)
    ]
    expires_at = integration.previous_key_expires_at if digest != integration.key_hash else None
    return IngestTarget(
        integration=integration, rules=rules, windows=_windows(integration, row[-1]), expires_at=expires_at
    )


def _windows(integration: Integration, raw) -> list[MaintenanceWindow]:
    windows = []
    for values in json.loads(raw) if isinstance(raw, str) else raw:
        for name in ("starts_at", "ends_at"):
            if values[name] is not None:
                values[name] = datetime.fromisoformat(values[name])
        if values["start_time"] is not None:
            values["start_time"] = time.fromisoformat(values["start_time"])
        windows.append(MaintenanceWindow(organization_id=integration.organization_id, **values))
    return windows


class KeyConverter:
    regex = KEY_REGEX

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value
