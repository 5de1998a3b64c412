"""Incident list with 100,000 incidents in one organization: page and API time through the real
ASGI server on loopback, beside the same page's SELECT run directly in PostgreSQL.

    make bench PYTEST_ARGS=tests/bench/test_incident_list.py
"""

import random
from datetime import timedelta

import httpx
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from incidents.models import Incident, Status
from tests.bench.timing import percentile, report, timed
from tests.incidents.factories import ServiceFactory
from tests.servers import asgi_server

N_INCIDENTS = 100_000
REQUESTS = 200
# A realistic tenant: almost everything is history; a couple of percent is open.
STATUSES = [Status.RESOLVED] * 48 + [Status.TRIGGERED, Status.ACKNOWLEDGED]


def _populate(org, team):
    services = [ServiceFactory(organization=org, owner_team=team) for _ in range(20)]
    rng = random.Random(7)
    now = timezone.now()
    batch = []
    for i in range(N_INCIDENTS):
        created = now - timedelta(minutes=i * 2 + rng.randint(0, 1))
        status = rng.choice(STATUSES)
        service = rng.choice(services)
        batch.append(
            Incident(
                organization=org,
                title=f"Synthetic incident {i} on {service.name}",
                service=service,
                team=team,
                severity=rng.choice(["sev1", "sev2", "sev3", "sev4"]),
                status=status,
                created_at=created,
                updated_at=created,
                resolved_at=created + timedelta(minutes=30) if status == Status.RESOLVED else None,
            )
        )
        if len(batch) == 5000:
            Incident.objects.bulk_create(batch)
            batch = []
    Incident.objects.bulk_create(batch)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE incidents_incident")


@pytest.mark.django_db(transaction=True)
def test_incident_list_with_100k(org, users, team, token_for):
    _populate(org, team)
    login = Client()
    login.force_login(users["operator"])
    cookies = {settings.SESSION_COOKIE_NAME: login.cookies[settings.SESSION_COOKIE_NAME].value}
    token = token_for("operator")

    # The page's own row query, captured in-process, replayed raw as the baseline.
    with CaptureQueriesContext(connection) as ctx:
        assert login.get("/incidents/").status_code == 200
    row_sql = next(
        q["sql"]
        for q in ctx.captured_queries
        if 'FROM "incidents_incident"' in q["sql"] and "LIMIT" in q["sql"]
    )

    def raw_select():
        with connection.cursor() as cursor:
            cursor.execute(row_sql)
            cursor.fetchall()

    with (
        asgi_server() as server,
        httpx.Client(base_url=server.url, cookies=cookies, timeout=10) as page,
        httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as api,
    ):

        def get(client, path, **params):
            response = client.get(path, params=params)
            assert response.status_code == 200, response.text[:300]

        for _ in range(20):  # warm connections, caches and the interpreter
            get(page, "/incidents/")
            get(api, "/api/v1/incidents/")
        filtered = {"status": "triggered", "severity": "sev1"}
        rows = [
            ("PostgreSQL: the page's row SELECT, raw", timed(raw_select, REQUESTS)),
            ("page /incidents/ (newest, page 1)", timed(lambda: get(page, "/incidents/"), REQUESTS)),
            (
                "page ?status=triggered&severity=sev1",
                timed(lambda: get(page, "/incidents/", **filtered), REQUESTS),
            ),
            ("page ?sort=severity", timed(lambda: get(page, "/incidents/", sort="severity"), REQUESTS)),
            ("page ?page=100", timed(lambda: get(page, "/incidents/", page=100), REQUESTS)),
            ("API /api/v1/incidents/", timed(lambda: get(api, "/api/v1/incidents/"), REQUESTS)),
            (
                "API ?status=triggered&severity=sev1",
                timed(lambda: get(api, "/api/v1/incidents/", **filtered), REQUESTS),
            ),
            ("API ?sort=updated", timed(lambda: get(api, "/api/v1/incidents/", sort="updated"), REQUESTS)),
        ]
    report(
        f"Incident list, {N_INCIDENTS:,} incidents in one organization, {REQUESTS} sequential requests each",
        rows,
    )
    worst = max(percentile(samples, 95) for _, samples in rows[1:])
    print(f"worst p95 of page/API through the ASGI server: {worst:.2f} ms (target < 50 ms)")
