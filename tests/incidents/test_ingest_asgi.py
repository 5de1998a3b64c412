"""Ingestion through the real ASGI application: the lean handler serves it (no session machinery),
everything else keeps the full middleware stack."""

import httpx
import pytest
from channels.db import database_sync_to_async

from incidents.models import Incident

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
