"""Percent state change as Nagios computes it, against values worked out by hand.

Weight of the change between result x-1 and x (x = 1..20 in a 21-result window):
0.75 + (x - 1) * 0.5 / 19, so 0.75 for the oldest change and 1.25 for the newest; the percent is the
sum of the weights of the changes that happened, times 100 / 20.
"""

import pytest

from monitoring.state import flap_percent, is_flapping


@pytest.mark.parametrize(
    ("history", "percent"),
    [
        ("u" * 21, 0.0),
        # Oldest change only: 0.75 -> 3.75 %.
        ("d" + "u" * 20, 3.75),
        # Newest change only: 0.75 + 19 * 0.5 / 19 = 1.25 -> 6.25 %.
        ("u" * 20 + "d", 6.25),
        # Changes at x = 10 and 11: 0.75 + 9/38 + 0.75 + 10/38 = 2.0 -> 10 %.
        ("u" * 10 + "d" + "u" * 10, 10.0),
        # Changes at x = 16..20: 5 * 0.75 + (15+16+17+18+19) / 38 = 3.75 + 85/38 -> 29.934 %.
        ("u" * 16 + "dudud", 29.934),
        # Every result differs from the one before: 20 * 0.75 + 190/38 = 20 -> 100 %.
        ("ud" * 10 + "u", 100.0),
        # Degraded counts as its own state: one change at x = 20 -> 6.25 %.
        ("u" * 20 + "g", 6.25),
    ],
)
def test_percent_state_change(history, percent):
    assert flap_percent(history) == pytest.approx(percent, abs=0.001)


def test_only_the_last_21_results_count_and_fewer_give_no_verdict():
    assert flap_percent("d" * 29 + "u" * 21) == 0.0
    assert flap_percent("ud" * 10) is None


def test_flapping_starts_above_the_high_threshold_and_stops_below_the_low_one():
    assert is_flapping("u" * 16 + "dudud", was_flapping=False)  # 29.9 % > 20 %
    assert not is_flapping("u" * 10 + "d" + "u" * 10, was_flapping=False)  # 10 %: not yet
    assert is_flapping("u" * 10 + "d" + "u" * 10, was_flapping=True)  # 10 % >= 5 %: still
    assert not is_flapping("d" + "u" * 20, was_flapping=True)  # 3.75 % < 5 %: stable again
