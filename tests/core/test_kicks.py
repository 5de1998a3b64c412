"""Kicking a tick (``opsplatform.core.kicks``): one message waiting in the queue at most, a new one
once the tick started or the mark expired, and never an error when Redis is away."""

import time
import uuid

import pytest

from opsplatform.core import kicks
from tests.kick_queue import private_queue


@pytest.fixture
def queue(monkeypatch):
    with private_queue(monkeypatch) as waiting:
        yield waiting


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
