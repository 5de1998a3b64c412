"""Analytics at 1,000,000 incidents in one organization: the API and the page through the real ASGI
server on loopback, beside the raw aggregate query of the same range over the incidents table.

    make bench PYTEST_ARGS=tests/bench/test_analytics_bench.py

The incidents are generated in PostgreSQL (INSERT … SELECT generate_series) over two years, 20
services, four severities; 90% resolved, 95% of those acknowledged, a fifth with an SLA. The
rollups are then built once (as the refresh tick does for an organization it has not seen), and
an incremental refresh of a day of changes is timed too.
"""

import os
import time
from datetime import timedelta

import httpx
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone

from opsplatform.analytics.services.refresh import refresh_rollups
from tests.bench.timing import percentile, report, timed
from tests.incidents.factories import ServiceFactory
from tests.servers import asgi_server

N_INCIDENTS = 1_000_000
DAYS = 730
REQUESTS = 100

GENERATE = """
INSERT INTO incidents_incident (
    organization_id, title, description, severity, priority, status, dedup_key, labels, source,
    created_at, updated_at, resolution_note, escalation_step, escalation_cycle, escalation_epoch,
    alert_occurrences, alerts_firing, alerts_total, group_key, service_id, team_id,
    acknowledged_at, resolved_at, ack_due_at, resolve_due_at, ack_breached_at
)
SELECT %(org)s, 'Synthetic incident ' || g, '', 'sev' || (1 + g %% 4), 'p3',
       CASE WHEN g %% 10 = 0 THEN 'triggered' ELSE 'resolved' END, '', '{}', 'bench',
       c.created, c.created, '', 0, 0, 0, 1, 0, 1 + g %% 3, '',
       (%(services)s::bigint[])[1 + g %% 20], %(team)s,
       CASE WHEN g %% 10 <> 0 AND g %% 20 <> 1 THEN c.created + (60 + g %% 900) * interval '1 second' END,
       CASE WHEN g %% 10 <> 0 THEN c.created + (600 + g %% 7200) * interval '1 second' END,
       CASE WHEN g %% 5 = 0 THEN c.created + interval '15 minutes' END,
       CASE WHEN g %% 5 = 0 THEN c.created + interval '4 hours' END,
       CASE WHEN g %% 5 = 0 AND g %% 900 > 840 THEN c.created + interval '15 minutes' END
FROM generate_series(1, %(n)s) AS g
CROSS JOIN LATERAL (
    SELECT %(start)s::timestamptz + (g::bigint * %(span)s / %(n)s) * interval '1 second' AS created
) c
"""

RAW = """
SELECT (created_at AT TIME ZONE 'UTC')::date AS day, count(*),
       avg(extract(epoch FROM acknowledged_at - created_at)),
       avg(extract(epoch FROM resolved_at - created_at)) FILTER (WHERE status = 'resolved'),
       count(*) FILTER (WHERE ack_breached_at IS NOT NULL)
FROM incidents_incident
WHERE organization_id = %s AND created_at >= %s AND created_at < %s
GROUP BY 1 ORDER BY 1
"""


def _populate(org, team):
    services = [ServiceFactory(organization=org, owner_team=team).pk for _ in range(20)]
    start = timezone.now() - timedelta(days=DAYS)
    with connection.cursor() as cursor:
        # A bulk load, like a restore: the change log would only say "everything"; the first
        # refresh builds the organization from scratch anyway.
        cursor.execute("ALTER TABLE incidents_incident DISABLE TRIGGER analytics_incident_insert")
        cursor.execute(
            GENERATE,
            {
                "org": org.pk,
                "services": services,
                "team": team.pk,
                "n": N_INCIDENTS,
                "start": start,
                "span": DAYS * 86400,
            },
        )
        cursor.execute("ALTER TABLE incidents_incident ENABLE TRIGGER analytics_incident_insert")
        cursor.execute("ANALYZE incidents_incident")


@pytest.mark.timeout(3600)
@pytest.mark.django_db(transaction=True)
def test_analytics_with_1m_incidents(org, users, team, token_for):
    began = time.perf_counter()
    _populate(org, team)
    loaded = time.perf_counter()
    print(f"\nloaded {N_INCIDENTS:,} incidents in {loaded - began:.1f} s", flush=True)
    refresh_rollups()  # the organization is new to the rollups: a full build
    built = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE analytics_incidentrollup")
        cursor.execute("SELECT count(*) FROM analytics_incidentrollup WHERE organization_id = %s", [org.pk])
        rollup_rows = cursor.fetchone()[0]
        # A day of activity: 1,400 incidents acknowledged and resolved, logged by the trigger.
        cursor.execute(
            "UPDATE incidents_incident SET status = 'resolved', resolved_at = created_at + interval '1 hour' "
            "WHERE id IN (SELECT id FROM incidents_incident WHERE organization_id = %s "
            "AND status = 'triggered' ORDER BY created_at DESC LIMIT 1400)",
            [org.pk],
        )
    refreshed_start = time.perf_counter()
    result = refresh_rollups()
    refreshed = time.perf_counter()
    print(
        f"\nload {loaded - began:.1f} s; full rollup build {built - loaded:.1f} s "
        f"({rollup_rows:,} rollup rows); "
        f"incremental refresh of 1,400 changed incidents: {(refreshed - refreshed_start) * 1000:.0f} ms "
        f"({result.days} days recomputed)"
    )

    login = Client()
    login.force_login(users["manager"])
    cookies = {settings.SESSION_COOKIE_NAME: login.cookies[settings.SESSION_COOKIE_NAME].value}
    token = token_for("manager")
    today = timezone.now().date()
    ranges = {
        days: {"from": str(today - timedelta(days=days - 1)), "to": str(today)} for days in (30, 90, 365)
    }

    def raw(days):
        lo = timezone.now() - timedelta(days=days)

        def run():
            with connection.cursor() as cursor:
                cursor.execute(RAW, [org.pk, lo, timezone.now()])
                cursor.fetchall()

        return run

    with (
        asgi_server() as server,
        httpx.Client(base_url=server.url, cookies=cookies, timeout=30) as page,
        httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as api,
    ):

        def get(client, path, **params):
            response = client.get(path, params=params)
            assert response.status_code == 200, response.text[:300]

        for _ in range(10):
            get(page, "/analytics/", **ranges[30])
            get(api, "/api/v1/analytics/incidents/", **ranges[30])
        rows = [
            ("PostgreSQL raw aggregate, 30 days", timed(raw(30), REQUESTS // 4)),
            ("PostgreSQL raw aggregate, 90 days", timed(raw(90), REQUESTS // 4)),
            ("PostgreSQL raw aggregate, 365 days", timed(raw(365), 10)),
            (
                "API incidents, 30 days by day",
                timed(lambda: get(api, "/api/v1/analytics/incidents/", **ranges[30]), REQUESTS),
            ),
            (
                "API incidents, 90 days by day",
                timed(lambda: get(api, "/api/v1/analytics/incidents/", **ranges[90]), REQUESTS),
            ),
            (
                "API incidents, 365 days by service",
                timed(
                    lambda: get(api, "/api/v1/analytics/incidents/", group_by="service", **ranges[365]),
                    REQUESTS,
                ),
            ),
            (
                "API oncall-load, 90 days",
                timed(lambda: get(api, "/api/v1/analytics/oncall-load/", **ranges[90]), REQUESTS),
            ),
            ("page /analytics/, 30 days", timed(lambda: get(page, "/analytics/", **ranges[30]), REQUESTS)),
            ("page /analytics/, 90 days", timed(lambda: get(page, "/analytics/", **ranges[90]), REQUESTS)),
        ]
    report(
        f"Analytics, {N_INCIDENTS:,} incidents over {DAYS} days in one organization, sequential requests",
        rows,
    )
    worst = max(percentile(samples, 95) for _, samples in rows[3:])
    print(f"worst p95 of page/API through the ASGI server: {worst:.2f} ms (target < 300 ms)")
    print(f"load average while measuring: {os.getloadavg()}")
