"""Kicking a tick (``opsplatform.core.kicks``): one message waiting in the queue at most, a new one
once the tick started or the mark expired, and never an error when Redis is away."""

import json
import time
import uuid

import pytest

from opsplatform.celery import app
from opsplatform.core import kicks


@pytest.fixture
def queue(monkeypatch):
    name = f"test-kick-{uuid.uuid4().hex}"

    class PrivateQueue:
        def send_task(self, task, **options):
            return app.send_task(task, queue=name, **options)

    monkeypatch.setattr(kicks, "current_app", PrivateQueue())
    with app.connection_for_write() as connection:
        broker = connection.default_channel.client
        yield lambda: [json.loads(raw)["headers"]["task"] for raw in broker.lrange(name, 0, -1)]
        broker.delete(name)


@pytest.fixture
def kick():
    kick = kicks.Kick(f"test.tick.{uuid.uuid4().hex}", pending_seconds=0.5, local_seconds=0)
    yield kick
    kick.started()


def test_one_kick_waits_at_a_time(kick, queue):
    assert kick() is True
    assert kick() is False
    assert queue() == [kick.task]

    kick.started()

    assert kick() is True
    assert queue() == [kick.task, kick.task]


def test_a_lost_kick_stops_blocking_when_its_mark_expires(kick, queue):
    assert kick() is True
    time.sleep(0.7)

    assert kick() is True
    assert queue() == [kick.task, kick.task]


def test_a_process_asks_redis_at_most_once_per_local_interval(queue):
    kick = kicks.Kick(f"test.tick.{uuid.uuid4().hex}", local_seconds=60)
    assert kick() is True
    kick.started()

    assert kick() is False  # asked just now: not even Redis is asked
    kick.forget()
    assert kick() is True
    assert queue() == [kick.task, kick.task]
    kick.started()


def test_redis_away_sends_nothing_and_raises_nothing(kick, queue, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"

    assert kick() is False
    kick.started()
    assert queue() == []
