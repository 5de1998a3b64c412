"""Incident list with 100,000 incidents in one organization: page and API server time, beside the
same page's SELECT run directly in PostgreSQL.

    make bench BENCH=tests/bench/test_incident_list.py
"""

import random
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from incidents.models import Incident, Status
from tests.bench.timing import percentile, report, timed
from tests.incidents.factories import ServiceFactory

N_INCIDENTS = 100_000
REQUESTS = 200


def _populate(org, team, users):
    services = [ServiceFactory(organization=org, owner_team=team) for _ in range(20)]
    rng = random.Random(7)
    now = timezone.now()
    statuses = [Status.RESOLVED] * 17 + [Status.TRIGGERED, Status.ACKNOWLEDGED, Status.SNOOZED]
    batch = []
    for i in range(N_INCIDENTS):
        created = now - timedelta(minutes=i * 2 + rng.randint(0, 1))
        status = rng.choice(statuses)
        batch.append(
            Incident(
                organization=org,
                title=f"Synthetic incident {i} on {rng.choice(services).name}",
                service=rng.choice(services),
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


@pytest.mark.django_db
def test_incident_list_with_100k(org, users, team, token_for):
    _populate(org, team, users)
    page_client = Client()
    page_client.force_login(users["operator"])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for('operator')}")
    list_url = reverse("incidents:list")
    api_url = "/api/v1/incidents/"
    filtered = {"status": "triggered", "severity": "sev1"}

    def get_page(**params):
        response = page_client.get(list_url, params)
        assert response.status_code == 200

    def get_api(**params):
        response = api.get(api_url, params)
        assert response.status_code == 200, response.content[:300]

    # Warm caches, and capture the page's own row query to replay it raw.
    get_page()
    with CaptureQueriesContext(connection) as ctx:
        get_page()
    row_sql = next(
        q["sql"]
        for q in ctx.captured_queries
        if 'FROM "incidents_incident"' in q["sql"] and "LIMIT" in q["sql"]
    )
    count_sql = next((q["sql"] for q in ctx.captured_queries if "COUNT(*)" in q["sql"]), None)

    def raw_select():
        with connection.cursor() as cursor:
            cursor.execute(row_sql)
            cursor.fetchall()
            if count_sql:
                cursor.execute(count_sql)
                cursor.fetchall()

    rows = [
        ("PostgreSQL: same page's SELECT (+COUNT), raw", timed(raw_select, REQUESTS)),
        ("page /incidents/ (newest, page 1)", timed(get_page, REQUESTS)),
        ("page /incidents/?status=triggered&sev1", timed(lambda: get_page(**filtered), REQUESTS)),
        ("page /incidents/ page 100", timed(lambda: get_page(page=100), REQUESTS)),
        ("API /api/v1/incidents/", timed(get_api, REQUESTS)),
        ("API /api/v1/incidents/?status=triggered&sev1", timed(lambda: get_api(**filtered), REQUESTS)),
    ]
    report(f"Incident list, {N_INCIDENTS:,} incidents in one organization, {REQUESTS} requests each", rows)
    worst = max(percentile(samples, 95) for name, samples in rows[1:])
    print(f"worst p95 of page/API: {worst:.2f} ms (target < 50 ms)")
