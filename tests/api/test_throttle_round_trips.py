"""The API's throttle costs one Redis round trip per request, seen by the Redis server itself
(MONITOR lists each command a client sends; commands a script runs are listed as ``lua``)."""

import threading
import uuid

import pytest
import redis
from django.conf import settings
from django.core.cache import caches

CURRENT = "/api/v1/organizations/current/"


def _client_commands(action, marker: str) -> list[str]:
    """The commands clients sent to Redis while ``action`` ran, up to a ``marker`` ECHO."""
    seen, ready = [], threading.Event()
    monitor_client = redis.Redis.from_url(settings.REDIS_URL)

    def watch():
        with monitor_client.monitor() as monitor:
            ready.set()
            for entry in monitor.listen():
                if marker in entry["command"]:
                    return
                if entry.get("client_type") != "lua":
                    seen.append(entry["command"])

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    ready.wait(5)
    try:
        action()
    finally:
        redis.Redis.from_url(settings.REDIS_URL).echo(marker)
        watcher.join(10)
    return seen


@pytest.mark.django_db
def test_a_throttled_request_is_one_round_trip(api_as):
    api = api_as("viewer")
    assert api.get(CURRENT).status_code == 200  # the first request of a token stamps its last use
    prefix = caches["default"].make_key("throttle_token")
    marker = f"end-{uuid.uuid4().hex}"

    commands = _client_commands(lambda: api.get(CURRENT), marker)
    throttle = [c for c in commands if prefix in c]

    assert len(throttle) == 1, commands
    assert throttle[0].startswith(("EVALSHA", "EVAL"))
