"""Ingestion through the real ASGI application: the lean handler serves it (no session machinery),
everything else keeps the full middleware stack."""

import asyncio
import json

import httpx
import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from incidents.models import Incident, RawPayload
from opsplatform.realtime.groups import organization_group
from tests.incidents.ingest.payloads import alertmanager, am_alert

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def asgi_client():
    from opsplatform.asgi import application, ingestion_app

    transport = httpx.ASGITransport(app=application)
    return httpx.AsyncClient(transport=transport, base_url="http://localhost"), ingestion_app


async def test_enqueue_is_served_by_the_lean_handler(asgi_client, make_integration):
    client, ingestion_app = asgi_client
    _, key = await database_sync_to_async(make_integration)("pagerduty")
    event = {
        "routing_key": key,
        "event_action": "trigger",
        "dedup_key": "asgi-1",
        "payload": {"summary": "Checkout 500s", "source": "web-1", "severity": "critical"},
    }
    async with client:
        accepted = await client.post("/v2/enqueue", json=event)
        page = await client.get("/accounts/login/")
    assert accepted.status_code == 202
    assert accepted.json()["dedup_key"] == "asgi-1"
    assert "Set-Cookie" not in accepted.headers  # no session or CSRF machinery on this path
    assert accepted.headers["X-Request-ID"]
    assert int(accepted.headers["Content-Length"]) == len(accepted.content)
    assert page.status_code == 200 and "csrftoken" in page.headers.get("Set-Cookie", "")
    middleware = [type(m).__name__ for m in _chain(ingestion_app)]
    assert "SessionMiddleware" not in middleware
    assert await database_sync_to_async(Incident.objects.filter(dedup_key="asgi-1").count)() == 1


def _chain(handler):
    """The middleware instances of a handler, outermost first."""
    found, current = [], handler._middleware_chain
    while current is not None and hasattr(current, "get_response"):
        found.append(current)
        current = current.get_response
    return found


def _trigger(key: str, dedup_key: str) -> dict:
    return {
        "routing_key": key,
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "payload": {"summary": "Checkout 500s", "source": "web-1", "severity": "critical"},
    }


async def _backends() -> int:
    """Connections open to the test database, this test's own included."""

    def count():
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
            return cursor.fetchone()[0]

    return await database_sync_to_async(count)()


async def test_each_request_gives_its_database_connection_back(asgi_client, make_integration):
    """The request-finished signal runs in the request's own worker thread: no connection is left
    behind, however many requests the (reused) threads have served."""
    client, _ = asgi_client
    _, key = await database_sync_to_async(make_integration)("pagerduty")
    before = await _backends()
    async with client:
        statuses = [
            (await client.post("/v2/enqueue", json=_trigger(key, f"conn-{i % 3}"))).status_code
            for i in range(30)
        ]
    assert statuses == [202] * 30
    assert await _backends() <= before + 1
    counts = await database_sync_to_async(
        lambda: sorted(
            Incident.objects.filter(dedup_key__startswith="conn-").values_list("alert_occurrences", flat=True)
        )
    )()
    assert counts == [10, 10, 10]


async def test_an_oversized_body_without_a_length_is_refused_and_nothing_is_stored(
    asgi_client, make_integration, settings
):
    settings.API_MAX_BODY_BYTES = 2048
    client, _ = asgi_client
    _, key = await database_sync_to_async(make_integration)("alertmanager")
    # A valid notification, only too long: read whole, it would open an incident.
    body = json.dumps(alertmanager(am_alert("cccc000000000001", description="x" * 4000))).encode()

    async def chunks():  # no Content-Length: the body is sent chunked
        for start in range(0, len(body), 1024):
            yield body[start : start + 1024]

    async with client:
        response = await client.post(f"/api/v1/integrations/{key}/alertmanager/", content=chunks())
    assert response.status_code == 413
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "2048 bytes" in response.json()["detail"]
    assert await database_sync_to_async(Incident.objects.count)() == 0
    assert await database_sync_to_async(RawPayload.objects.count)() == 0


async def test_a_client_gone_before_its_body_is_complete_gets_nothing_written(make_integration):
    from opsplatform.asgi import ingestion_app

    _, key = await database_sync_to_async(make_integration)("pagerduty")
    messages = [
        {"type": "http.request", "body": json.dumps(_trigger(key, "gone")).encode()[:40], "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent = []

    async def receive():
        return messages.pop(0)

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v2/enqueue",
        "raw_path": b"/v2/enqueue",
        "query_string": b"",
        "headers": [(b"host", b"localhost"), (b"content-type", b"application/json")],
        "server": ("localhost", 80),
        "client": ("127.0.0.1", 5000),
        "scheme": "http",
        "root_path": "",
    }
    await ingestion_app(scope, receive, send)
    assert sent == []
    assert await database_sync_to_async(Incident.objects.filter(dedup_key="gone").count)() == 0


async def test_a_new_incident_is_pushed_to_the_organization_group(asgi_client, make_integration, org):
    """Realtime publishing from the ingestion worker threads reaches the channel layer."""
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(organization_group(org.pk), channel)
    client, _ = asgi_client
    _, key = await database_sync_to_async(make_integration)("pagerduty")
    async with client:
        assert (await client.post("/v2/enqueue", json=_trigger(key, "pushed"))).status_code == 202
    incident_id = await database_sync_to_async(lambda: Incident.objects.get(dedup_key="pushed").pk)()
    events = []
    async with asyncio.timeout(5):
        while not any(e["kind"] == "incident" for e in events):
            events.append((await layer.receive(channel))["event"])
    assert {"kind": "incident", "id": incident_id, "status": "triggered"}.items() <= events[-1].items()
    assert any(e["kind"] == "ledger" for e in events)  # the incident's ledger entry, pushed too
