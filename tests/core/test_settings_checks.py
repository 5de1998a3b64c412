"""Settings read from the environment refuse values the platform cannot run with, at start-up, with a
message naming the variable (not a failure later, in a tick)."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _load_settings(**env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "import opsplatform.settings as s; print(s.ESCALATION_GATHER_SECONDS)"],
        check=False,
        cwd=ROOT,
        env={**os.environ, "DEBUG": "true", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("value", ["-1", "2.5", "30"])
def test_an_escalation_gather_outside_0_to_2_seconds_is_refused(value):
    loaded = _load_settings(ESCALATION_GATHER_SECONDS=value)
    assert loaded.returncode != 0
    assert "ESCALATION_GATHER_SECONDS must be from 0 to 2" in loaded.stderr


@pytest.mark.parametrize("value", ["0", "0.25", "2"])
def test_an_escalation_gather_from_0_to_2_seconds_is_taken(value):
    loaded = _load_settings(ESCALATION_GATHER_SECONDS=value)
    assert loaded.returncode == 0, loaded.stderr
    assert float(loaded.stdout.strip()) == float(value)
