"""The monitor state machine: hysteresis between up, degraded and down, and Nagios-style flap detection.

Pure functions over a monitor's counters and outcome history (``Monitor.history``, one letter per
check, oldest first: u up, g degraded, d down), so the rules are tested without a database.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitoring.models import HISTORY_LENGTH, OUTCOME_CODE, MonitorState, Outcome

FLAP_WINDOW = 21
FLAP_HIGH = 20.0
FLAP_LOW = 5.0
# Nagios weights the 20 possible changes of a 21-result window linearly from 0.75 (oldest) to 1.25.
LOW_WEIGHT, HIGH_WEIGHT = 0.75, 1.25


def flap_percent(history: str) -> float | None:
    """Percent state change over the last 21 results, as Nagios computes it; None until 21 exist."""
    window = history[-FLAP_WINDOW:]
    if len(window) < FLAP_WINDOW:
        return None
    changes = 0.0
    for x in range(1, FLAP_WINDOW):
        if window[x] != window[x - 1]:
            changes += (x - 1) * (HIGH_WEIGHT - LOW_WEIGHT) / (FLAP_WINDOW - 2) + LOW_WEIGHT
    return changes * 100.0 / (FLAP_WINDOW - 1)


def is_flapping(history: str, was_flapping: bool, *, high: float = FLAP_HIGH, low: float = FLAP_LOW) -> bool:
    """Start above ``high``, stop below ``low``; in between, stay as it was (its own hysteresis)."""
    percent = flap_percent(history)
    if percent is None:
        return was_flapping
    if not was_flapping:
        return percent > high
    return percent >= low


@dataclass
class Step:
    state: str
    consecutive_failures: int
    consecutive_successes: int
    history: str
    flapping: bool
    flap_percent: float | None

    def changed(self, before_state: str, before_flapping: bool) -> bool:
        return self.state != before_state or self.flapping != before_flapping


def _failure_ratio_reached(history: str, ratio: float | None, window: int | None) -> bool:
    if not ratio or not window or len(history) < window:
        return False
    recent = history[-window:]
    return recent.count("d") / window >= ratio


def advance(
    *,
    state: str,
    flapping: bool,
    consecutive_failures: int,
    consecutive_successes: int,
    history: str,
    outcome: str,
    down_after: int,
    up_after: int,
    failure_ratio: float | None = None,
    ratio_window: int | None = None,
) -> Step:
    """The monitor after one more check result.

    Going down needs ``down_after`` consecutive failures (or the failure ratio over the window);
    coming back needs ``up_after`` consecutive successes. Below those thresholds the state holds:
    one failed check of an up monitor changes nothing but the counters.
    """
    if outcome == Outcome.NOT_PERMITTED:
        return Step(
            state, consecutive_failures, consecutive_successes, history, flapping, flap_percent(history)
        )
    history = (history + OUTCOME_CODE[outcome])[-HISTORY_LENGTH:]
    failed = outcome == Outcome.DOWN
    failures = consecutive_failures + 1 if failed else 0
    successes = 0 if failed else consecutive_successes + 1
    new_state = state
    if state == MonitorState.DOWN:
        if not failed and successes >= up_after:
            new_state = MonitorState.DEGRADED if outcome == Outcome.DEGRADED else MonitorState.UP
    elif failed:
        if failures >= down_after or _failure_ratio_reached(history, failure_ratio, ratio_window):
            new_state = MonitorState.DOWN
    else:
        new_state = MonitorState.DEGRADED if outcome == Outcome.DEGRADED else MonitorState.UP
    return Step(
        state=new_state,
        consecutive_failures=failures,
        consecutive_successes=successes,
        history=history,
        flapping=is_flapping(history, flapping),
        flap_percent=flap_percent(history),
    )
