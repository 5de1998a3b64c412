import pytest
from django.db import OperationalError

from opsplatform.core import health

DEAD_REDIS = "unix:///nonexistent-opsplatform-test/redis.sock"


@pytest.mark.django_db
def test_healthy_when_database_and_redis_answer(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"database": "ok", "redis": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_unavailable_when_redis_is_down(client, settings):
    settings.REDIS_URL = DEAD_REDIS

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"database": "ok", "redis": "error"}


@pytest.mark.django_db
def test_failure_does_not_leak_connection_details(client, settings):
    settings.REDIS_URL = "unix://:hunter2-secret@/nonexistent-opsplatform-test/redis.sock"

    response = client.get("/healthz")

    assert response.status_code == 503
    assert b"hunter2" not in response.content
    assert b"nonexistent" not in response.content


@pytest.mark.django_db
def test_unavailable_when_database_fails(client, monkeypatch):
    # A really broken database would also break the test's own transaction, so only the check fails.
    def broken():
        raise OperationalError("connection to server at db.internal failed: password=s3cret")

    monkeypatch.setitem(health.CHECKS, "database", broken)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"database": "error", "redis": "ok"}
    assert b"s3cret" not in response.content


@pytest.mark.django_db
def test_only_reads_are_allowed(client):
    assert client.post("/healthz").status_code == 405
    assert client.head("/healthz").status_code == 200
