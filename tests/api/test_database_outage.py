"""With the database unreachable, writes answer 503 with Retry-After (clients retry), never 500,
and /healthz says which dependency is down. The real server, against a port nobody listens on."""

import httpx
import pytest

from tests.servers import asgi_server, free_port


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_database_is_a_503_with_retry_after():
    unreachable = f"postgres://postgres@127.0.0.1:{free_port()}/nowhere"
    # No pool: each request tries to connect, and is refused at once.
    env = {"DATABASE_URL": unreachable, "DB_POOL_MAX_SIZE": "0"}
    with asgi_server(env=env) as server:
        enqueue = httpx.post(
            f"{server.url}/v2/enqueue",
            json={"routing_key": "opi_" + "x" * 32, "event_action": "trigger", "payload": {"summary": "s"}},
            timeout=30,
        )
        alertmanager = httpx.post(
            f"{server.url}/api/v1/integrations/opi_{'y' * 32}/alertmanager/", json={}, timeout=30
        )
        api = httpx.get(
            f"{server.url}/api/v1/incidents/", headers={"Authorization": "Bearer opk_x"}, timeout=30
        )
        health = httpx.get(f"{server.url}/healthz", timeout=30)

    for response in (enqueue, alertmanager, api):
        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"] == "5"
        assert response.headers["Content-Type"] == "application/problem+json"
        assert "hunter" not in response.text and "nowhere" not in response.text
    assert health.status_code == 503
    assert health.json()["database"] == "error"
