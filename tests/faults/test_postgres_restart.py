"""PostgreSQL stops mid-load (alerts arriving, pages going out) and starts again on the same data
directory and port, three times in a row: nothing accepted is lost, every page is delivered exactly
once, and the platform recovers by itself. See ``tests/faults/drill.py`` for what is checked."""

import os

import pytest

from tests.faults.drill import run_round

ROUNDS = int(os.environ.get("FAULTS_ROUNDS", "3"))
pytestmark = pytest.mark.timeout(900)


def test_postgres_restarts_lose_nothing_and_page_once(world):
    reports = []
    for number in range(1, ROUNDS + 1):
        # Alternate a clean fast shutdown with a crash-like immediate one (WAL replay on start).
        mode = "fast" if number % 2 else "immediate"
        reports.append(
            run_round(
                world,
                number,
                "database",
                fault=lambda mode=mode: world.postgres.stop(mode),
                recover=world.postgres.start,
            )
        )
        print(reports[-1].figures())
    problems = [f"round {r.number}: {problem}" for r in reports for problem in r.problems]
    assert not problems, "\n".join(problems) + "\n\n" + world.platform.tail(80)
