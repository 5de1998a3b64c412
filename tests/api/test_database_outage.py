"""With the database unreachable, writes answer 503 with Retry-After (clients retry), never 500,
and /healthz says which dependency is down. The real server, against a port nobody listens on."""

import time

import httpx
import pytest

from tests.servers import asgi_server, free_port


def _enqueue(server):
    return httpx.post(
        f"{server.url}/v2/enqueue",
        json={"routing_key": "opi_" + "x" * 32, "event_action": "trigger", "payload": {"summary": "s"}},
        timeout=30,
    )


def _assert_outage_answer(response):
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "5"
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "hunter" not in response.text and "nowhere" not in response.text


# DEBUG on is how `make run` serves: Django would render its technical 500 page for the error.
@pytest.mark.parametrize("debug", ["0", "1"])
@pytest.mark.django_db(transaction=True)
def test_an_unreachable_database_is_a_503_with_retry_after(debug):
    unreachable = f"postgres://postgres@127.0.0.1:{free_port()}/nowhere"
    # No pool: each request tries to connect, and is refused at once.
    env = {"DATABASE_URL": unreachable, "DB_POOL_MAX_SIZE": "0", "DEBUG": debug}
    with asgi_server(env=env) as server:
        enqueue = _enqueue(server)
        alertmanager = httpx.post(
            f"{server.url}/api/v1/integrations/opi_{'y' * 32}/alertmanager/", json={}, timeout=30
        )
        api = httpx.get(
            f"{server.url}/api/v1/incidents/", headers={"Authorization": "Bearer opk_x"}, timeout=30
        )
        health = httpx.get(f"{server.url}/healthz", timeout=30)

    for response in (enqueue, alertmanager, api):
        _assert_outage_answer(response)
    assert health.status_code == 503
    assert health.json()["database"] == "error"


@pytest.mark.django_db(transaction=True)
def test_with_the_pool_on_healthz_reports_the_outage_without_waiting_for_the_pool():
    """A pooled request waits up to DB_POOL_TIMEOUT_SECONDS for a connection; /healthz must not:
    a load balancer's probe would time out instead of hearing which dependency is down."""
    unreachable = f"postgres://postgres@127.0.0.1:{free_port()}/nowhere"
    env = {"DATABASE_URL": unreachable, "DB_POOL_MAX_SIZE": "2", "DB_POOL_TIMEOUT_SECONDS": "8"}
    with asgi_server(env=env, pool_size=2) as server:
        started = time.monotonic()
        health = httpx.get(f"{server.url}/healthz", timeout=30)
        health_seconds = time.monotonic() - started
        enqueue = _enqueue(server)

    assert health.status_code == 503 and health.json()["database"] == "error"
    assert health_seconds < 4, health_seconds
    _assert_outage_answer(enqueue)
