"""The process's pusher sends realtime pushes on an event loop of its own: the committing thread hands
them over and goes on, even while the channel layer does not answer. Against real Redis, and a TCP
server on loopback that accepts connections and never answers (a hung Redis)."""

import asyncio
import threading
import time

import pytest
from asgiref.sync import async_to_sync
from channels.layers import channel_layers, get_channel_layer

from opsplatform.realtime import pusher as pusher_module
from opsplatform.realtime.groups import publish_many_after_commit
from opsplatform.realtime.pusher import Pusher
from tests.servers import silent_server


def _receive_all(layer, channel, count):
    async def receive():
        return [await asyncio.wait_for(layer.receive(channel), timeout=5) for _ in range(count)]

    return async_to_sync(receive)()


@pytest.mark.django_db(transaction=True)
def test_pushes_after_commit_reach_the_group_in_the_order_handed_over():
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)("org.pusher-test", channel)
    try:
        for n in range(5):
            publish_many_after_commit([("org.pusher-test", {"kind": "test", "n": n})])  # autocommit: now
        events = [message["event"]["n"] for message in _receive_all(layer, channel, 5)]
    finally:
        async_to_sync(layer.group_discard)("org.pusher-test", channel)
    assert events == [0, 1, 2, 3, 4]


@pytest.fixture
def hung_redis(settings):
    """A channel layer whose Redis accepts the connection and then never says a word."""
    with silent_server() as (server, accepted):
        port = server.getsockname()[1]
        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": [f"redis://127.0.0.1:{port}/0"], "prefix": "hung"},
            }
        }
        channel_layers.backends.clear()
        try:
            yield server, accepted
        finally:
            channel_layers.backends.clear()


def test_a_hung_channel_layer_keeps_nobody_waiting_and_is_bounded(hung_redis, monkeypatch, caplog):
    server, accepted = hung_redis
    monkeypatch.setattr(pusher_module, "MAX_PENDING", 10)
    pusher = Pusher()
    started = time.monotonic()
    for n in range(4):
        pusher.send([(f"org.{n}", {"type": "realtime.event", "event": {"n": n}})] * 3)
    handed_over = time.monotonic() - started

    assert handed_over < 1.0  # a sending caller would wait on the silent server
    deadline = time.monotonic() + 5
    while not accepted and time.monotonic() < deadline:
        time.sleep(0.05)
    assert accepted, "the pusher never reached the channel layer"
    # 12 handed over, 10 allowed to wait: the last trip of three was dropped, not queued. (The first
    # trip hangs on the silent server; the second waits behind it.)
    assert pusher.pending == 9
    assert "realtime pushes not answered; 3 dropped so far" in caplog.text
    assert not pusher.wait(0.2)

    # The server goes away: the waiting sends fail (and are logged), and nothing waits any more.
    server.close()
    for connection in accepted:
        connection.close()
    assert pusher.wait(10)
    pusher.close(1)


def test_trips_that_waited_together_are_asked_about_once_and_sent_in_order(monkeypatch):
    """While the loop is held (here by a callback; in a storm, by busy request threads), trips pile
    up: one question to Redis covers them all, and each still reaches its listener, in order."""
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)("org.pusher-waited", channel)
    questions = []
    real_listened = pusher_module.listened

    async def counted(layer, groups):
        questions.append(sorted(groups))
        return await real_listened(layer, groups)

    monkeypatch.setattr(pusher_module, "listened", counted)
    pusher = Pusher()
    held, release = threading.Event(), threading.Event()

    def hold():
        held.set()
        release.wait(5)

    pusher._running_loop().call_soon_threadsafe(hold)
    try:
        assert held.wait(5)
        for n in range(5):
            pusher.send(
                [
                    ("org.pusher-waited", {"type": "realtime.event", "event": {"n": n}}),
                    (f"incident.nobody-{n}", {"type": "realtime.event", "event": {"n": n}}),
                ]
            )
        release.set()
        events = [message["event"]["n"] for message in _receive_all(layer, channel, 5)]
        assert pusher.wait(5)
    finally:
        release.set()
        async_to_sync(layer.group_discard)("org.pusher-waited", channel)
        pusher.close(1)
    assert events == [0, 1, 2, 3, 4]
    assert questions == [
        [
            "incident.nobody-0",
            "incident.nobody-1",
            "incident.nobody-2",
            "incident.nobody-3",
            "incident.nobody-4",
            "org.pusher-waited",
        ]
    ]
