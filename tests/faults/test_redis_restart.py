"""Redis (cache, channel layer and Celery broker) is killed mid-load and started again, empty, on
the same port, three times in a row. Whatever sat in the broker is gone: the work is driven by
database columns (``next_escalation_at``, ``next_attempt_at``) that the beat ticks claim, so no page
may be lost or doubled. See ``tests/faults/drill.py`` for what is checked."""

import os

import pytest

from tests.faults.drill import run_round

ROUNDS = int(os.environ.get("FAULTS_ROUNDS", "3"))
pytestmark = pytest.mark.timeout(900)


def test_redis_restarts_lose_nothing_and_page_once(world):
    reports = []
    for number in range(1, ROUNDS + 1):
        reports.append(run_round(world, number, "redis", fault=world.redis.kill, recover=world.redis.start))
        print(reports[-1].figures())
    problems = [f"round {r.number}: {problem}" for r in reports for problem in r.problems]
    assert not problems, "\n".join(problems) + "\n\n" + world.platform.tail(80)
