"""The fault drills share one platform per test run: private PostgreSQL and Redis servers, migrated
and seeded with the demo data, the runner serving it, and the peers that receive its pages
(``tests/faults/world.py``).

Run with ``make faults``; ``make test`` leaves this folder out (``--ignore`` in pyproject's addopts).
"""

import pytest

from tests.faults.world import running_world


def pytest_collection_modifyitems(items):
    for item in items:
        item.add_marker(pytest.mark.faults)


@pytest.fixture(scope="session")
def world():
    with running_world() as world:
        yield world
