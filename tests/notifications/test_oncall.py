"""Who is on call: rotations on the team's wall clock, across daylight-saving changes in several zones,
restrictions, layer priority, overrides, swaps and gaps.

Pure computations on snapshots (no database) unless a test says otherwise; instants are UTC.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from notifications import oncall
from notifications.oncall import LayerRules, OverrideRule, Restriction, ScheduleSnapshot, SwapRule
from notifications.services import overrides as override_services
from tests.notifications.factories import make_schedule, system

ALICE, BOB, CAROL, DAVE = 1, 2, 3, 4


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(zone: str, *args, fold=0) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone), fold=fold).astimezone(UTC)


def layer(
    users,
    *,
    rotation="daily",
    start=date(2025, 1, 1),
    handoff=time(9),
    hours=None,
    priority=0,
    id=1,
    restrictions=(),
):
    return LayerRules(
        id=id,
        name=f"layer {id}",
        priority=priority,
        rotation=rotation,
        shift_hours=hours,
        start_date=start,
        handoff_time=handoff,
        user_ids=tuple(users),
        restrictions=tuple(restrictions),
    )


def snap(zone, *layers, overrides=(), swaps=()) -> ScheduleSnapshot:
    return ScheduleSnapshot(
        time_zone=zone, layers=tuple(layers), overrides=tuple(overrides), swaps=tuple(swaps)
    )


def handoffs(s: ScheduleSnapshot, start: datetime, end: datetime) -> list[tuple[datetime, int | None]]:
    return [(seg.start, seg.user_id) for seg in oncall.timeline(s, start, end)]


# --- rotations ----------------------------------------------------------------------------------


def test_daily_rotation_hands_off_at_the_local_time():
    s = snap("Europe/Berlin", layer([ALICE, BOB, CAROL], start=date(2025, 1, 6)))
    assert oncall.oncall_at(s, local("Europe/Berlin", 2025, 1, 6, 9, 0)) == ALICE
    assert oncall.oncall_at(s, local("Europe/Berlin", 2025, 1, 7, 8, 59)) == ALICE
    assert oncall.oncall_at(s, local("Europe/Berlin", 2025, 1, 7, 9, 0)) == BOB
    assert oncall.oncall_at(s, local("Europe/Berlin", 2025, 1, 9, 12, 0)) == ALICE  # wrapped around


def test_nobody_before_the_rotation_starts():
    s = snap("UTC", layer([ALICE], start=date(2025, 1, 6)))
    assert oncall.oncall_at(s, utc(2025, 1, 6, 8, 59)) is None
    assert oncall.oncall_at(s, utc(2025, 1, 6, 9, 0)) == ALICE


def test_weekly_and_custom_rotations():
    weekly = snap("UTC", layer([ALICE, BOB], rotation="weekly", start=date(2025, 1, 6)))
    assert oncall.oncall_at(weekly, utc(2025, 1, 12, 23)) == ALICE
    assert oncall.oncall_at(weekly, utc(2025, 1, 13, 9)) == BOB
    twelve = snap("UTC", layer([ALICE, BOB, CAROL], rotation="custom", hours=12, start=date(2025, 1, 6)))
    assert oncall.oncall_at(twelve, utc(2025, 1, 6, 20, 59)) == ALICE
    assert oncall.oncall_at(twelve, utc(2025, 1, 6, 21)) == BOB
    assert oncall.oncall_at(twelve, utc(2025, 1, 7, 9)) == CAROL


# --- daylight saving: two zones, both transitions -------------------------------------------------

DST_CASES = [
    # zone, day of the change, hours of the shift that contains it
    ("Europe/Berlin", date(2025, 3, 30), 23),  # spring: 02:00 → 03:00
    ("Europe/Berlin", date(2025, 10, 26), 25),  # autumn: 03:00 → 02:00
    ("America/New_York", date(2025, 3, 9), 23),  # spring: 02:00 → 03:00
    ("America/New_York", date(2025, 11, 2), 25),  # autumn: 02:00 → 01:00
    ("Australia/Sydney", date(2025, 4, 6), 25),  # autumn in the south: 03:00 → 02:00
    ("Australia/Sydney", date(2025, 10, 5), 23),  # spring in the south: 02:00 → 03:00
]


@pytest.mark.parametrize(("zone", "day", "hours"), DST_CASES)
def test_daily_handoff_stays_at_nine_across_dst(zone, day, hours):
    s = snap(zone, layer([ALICE, BOB], start=date(2025, 1, 1)))
    before = datetime.combine(day - timedelta(days=1), time(9))
    start = local(zone, *before.timetuple()[:5])
    end = local(zone, day.year, day.month, day.day, 9, 0)
    segments = oncall.timeline(s, start, end + timedelta(hours=1))
    assert segments[0].start == start
    assert segments[0].end == end, "the handoff is at 09:00 local on the day of the change"
    assert segments[0].duration == timedelta(hours=hours)
    assert segments[1].user_id != segments[0].user_id
    # One minute before and at 09:00 local, as a person on that wall clock reads it.
    assert oncall.oncall_at(s, end - timedelta(minutes=1)) == segments[0].user_id
    assert oncall.oncall_at(s, end) == segments[1].user_id


@pytest.mark.parametrize(("zone", "day", "hours"), DST_CASES)
def test_weekly_rotation_across_dst_keeps_its_weekday_and_hour(zone, day, hours):
    monday = day - timedelta(days=day.weekday())
    s = snap(zone, layer([ALICE, BOB], rotation="weekly", start=monday - timedelta(weeks=4)))
    start = local(zone, monday.year, monday.month, monday.day, 9)
    next_monday = monday + timedelta(weeks=1)
    end = local(zone, next_monday.year, next_monday.month, next_monday.day, 9)
    segments = oncall.timeline(s, start, end + timedelta(minutes=1))
    assert segments[0].end == end
    assert segments[0].duration == timedelta(hours=7 * 24 + hours - 24)


def test_handoff_inside_the_spring_gap_happens_when_the_clock_resumes():
    # Berlin, 2025-03-30: 02:30 does not exist; the handoff happens at 03:30 CEST (01:30 UTC).
    s = snap("Europe/Berlin", layer([ALICE, BOB], handoff=time(2, 30), start=date(2025, 3, 29)))
    assert handoffs(s, utc(2025, 3, 29, 0), utc(2025, 3, 31, 2)) == [
        (utc(2025, 3, 29, 0), None),
        (utc(2025, 3, 29, 1, 30), ALICE),  # 02:30 CET
        (utc(2025, 3, 30, 1, 30), BOB),  # "02:30" → 03:30 CEST
        (utc(2025, 3, 31, 0, 30), ALICE),  # 02:30 CEST
    ]


def test_handoff_in_the_repeated_autumn_hour_means_its_first_occurrence():
    # New York, 2025-11-02: 01:30 happens twice; the handoff is at the first (EDT, 05:30 UTC).
    s = snap("America/New_York", layer([ALICE, BOB], handoff=time(1, 30), start=date(2025, 11, 1)))
    segments = oncall.timeline(s, utc(2025, 11, 1, 12), utc(2025, 11, 3, 12))
    assert [seg.start for seg in segments[1:]] == [utc(2025, 11, 2, 5, 30), utc(2025, 11, 3, 6, 30)]
    assert segments[1].duration == timedelta(hours=25)
    # The second 01:30 (fold=1) is still Bob's shift.
    assert oncall.oncall_at(s, local("America/New_York", 2025, 11, 2, 1, 30, fold=1)) == BOB


def test_twelve_hour_rotation_keeps_its_wall_clock_handoffs_across_autumn():
    s = snap(
        "Europe/Berlin",
        layer([ALICE, BOB], rotation="custom", hours=12, handoff=time(8), start=date(2025, 10, 20)),
    )
    day = oncall.timeline(
        s, local("Europe/Berlin", 2025, 10, 25, 20), local("Europe/Berlin", 2025, 10, 27, 8)
    )
    local_starts = [seg.start.astimezone(ZoneInfo("Europe/Berlin")).strftime("%d %H:%M") for seg in day]
    assert local_starts == ["25 20:00", "26 08:00", "26 20:00"]
    assert [seg.duration for seg in day] == [timedelta(hours=13), timedelta(hours=12), timedelta(hours=12)]


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York"])
def test_restriction_windows_follow_local_time_across_dst(zone):
    business = Restriction(days=frozenset(range(5)), start=time(9), end=time(17))
    s = snap(zone, layer([ALICE], restrictions=[business]))
    for day in (date(2025, 3, 31), date(2025, 10, 27), date(2025, 3, 10), date(2025, 11, 3)):  # Mondays after
        assert oncall.oncall_at(s, local(zone, day.year, day.month, day.day, 9, 0)) == ALICE
        assert oncall.oncall_at(s, local(zone, day.year, day.month, day.day, 16, 59)) == ALICE
        assert oncall.oncall_at(s, local(zone, day.year, day.month, day.day, 8, 59)) is None
        assert oncall.oncall_at(s, local(zone, day.year, day.month, day.day, 17, 0)) is None


# --- layers, restrictions, gaps -----------------------------------------------------------------


def test_higher_layer_wins_where_it_has_someone():
    base = layer([ALICE], id=1, priority=0)
    daytime = layer(
        [BOB],
        id=2,
        priority=1,
        restrictions=[Restriction(days=frozenset(range(7)), start=time(9), end=time(17))],
    )
    s = snap("UTC", base, daytime)
    assert oncall.oncall_at(s, utc(2025, 2, 3, 10)) == BOB
    assert oncall.oncall_at(s, utc(2025, 2, 3, 18)) == ALICE


def test_overnight_restriction_runs_past_midnight():
    night = Restriction(days=frozenset({4}), start=time(22), end=time(6))  # Friday night
    s = snap("UTC", layer([ALICE], restrictions=[night]))
    assert oncall.oncall_at(s, utc(2025, 2, 7, 23)) == ALICE  # Friday 23:00
    assert oncall.oncall_at(s, utc(2025, 2, 8, 5, 59)) == ALICE  # Saturday 05:59
    assert oncall.oncall_at(s, utc(2025, 2, 8, 6)) is None


def test_gaps_are_reported():
    business = Restriction(days=frozenset(range(5)), start=time(9), end=time(17))
    s = snap("UTC", layer([ALICE], restrictions=[business]))
    gaps = oncall.gaps(oncall.timeline(s, utc(2025, 2, 3, 0), utc(2025, 2, 4, 0)))  # a Monday
    assert [(g.start, g.end) for g in gaps] == [
        (utc(2025, 2, 3, 0), utc(2025, 2, 3, 9)),
        (utc(2025, 2, 3, 17), utc(2025, 2, 4, 0)),
    ]


def test_current_and_next():
    s = snap("UTC", layer([ALICE, BOB], start=date(2025, 1, 1)))
    current, upcoming = oncall.current_and_next(s, utc(2025, 1, 1, 12))
    assert (current.user_id, current.end) == (ALICE, utc(2025, 1, 2, 9))
    assert (upcoming.user_id, upcoming.start) == (BOB, utc(2025, 1, 2, 9))
    nobody_yet, first = oncall.current_and_next(s, utc(2024, 12, 31, 12))
    assert nobody_yet is None and first.user_id == ALICE


# --- overrides and swaps ------------------------------------------------------------------------


def test_override_without_replaces_takes_the_whole_range():
    s = snap(
        "UTC",
        layer([ALICE, BOB], start=date(2025, 1, 1)),
        overrides=[OverrideRule(utc(2025, 1, 1, 20), utc(2025, 1, 2, 12), CAROL)],
    )
    assert handoffs(s, utc(2025, 1, 1, 9), utc(2025, 1, 2, 20)) == [
        (utc(2025, 1, 1, 9), ALICE),
        (utc(2025, 1, 1, 20), CAROL),
        (utc(2025, 1, 2, 12), BOB),
    ]


def test_override_covering_for_someone_applies_only_to_their_time():
    s = snap(
        "UTC",
        layer([ALICE, BOB], start=date(2025, 1, 1)),
        overrides=[OverrideRule(utc(2025, 1, 1, 12), utc(2025, 1, 3, 12), CAROL, replaces_id=BOB)],
    )
    assert oncall.oncall_at(s, utc(2025, 1, 1, 20)) == ALICE  # Alice's shift: untouched
    assert oncall.oncall_at(s, utc(2025, 1, 2, 20)) == CAROL  # Bob's shift: covered
    assert oncall.oncall_at(s, utc(2025, 1, 3, 10)) == ALICE


def test_override_fills_a_gap():
    s = snap("UTC", overrides=[OverrideRule(utc(2025, 1, 1), utc(2025, 1, 2), DAVE)])
    assert oncall.oncall_at(s, utc(2025, 1, 1, 5)) == DAVE
    assert oncall.oncall_at(s, utc(2025, 1, 2, 5)) is None


def test_swap_trades_places_in_both_directions():
    s = snap(
        "UTC",
        layer([ALICE, BOB, CAROL], start=date(2025, 1, 1)),
        swaps=[SwapRule(utc(2025, 1, 1, 9), utc(2025, 1, 3, 9), ALICE, BOB)],
    )
    assert oncall.oncall_at(s, utc(2025, 1, 1, 12)) == BOB
    assert oncall.oncall_at(s, utc(2025, 1, 2, 12)) == ALICE
    assert oncall.oncall_at(s, utc(2025, 1, 3, 12)) == CAROL


def test_override_wins_over_a_swap():
    s = snap(
        "UTC",
        layer([ALICE, BOB], start=date(2025, 1, 1)),
        swaps=[SwapRule(utc(2025, 1, 1, 9), utc(2025, 1, 2, 9), ALICE, BOB)],
        overrides=[OverrideRule(utc(2025, 1, 1, 10), utc(2025, 1, 1, 11), CAROL)],
    )
    assert oncall.oncall_at(s, utc(2025, 1, 1, 9, 30)) == BOB
    assert oncall.oncall_at(s, utc(2025, 1, 1, 10, 30)) == CAROL


def test_user_shifts_merge_adjacent_segments():
    s = snap("UTC", layer([ALICE], start=date(2025, 1, 1)))
    shifts = oncall.user_shifts(s, ALICE, utc(2025, 1, 1), utc(2025, 1, 4))
    assert [(x.start, x.end) for x in shifts] == [(utc(2025, 1, 1, 9), utc(2025, 1, 4))]


# --- from the database --------------------------------------------------------------------------


@pytest.mark.django_db
def test_snapshot_reads_layers_overrides_and_swaps(org, team, users):
    team.members.add(users["admin"])  # takes an override below
    team.time_zone = "America/New_York"
    team.save(update_fields=["time_zone"])
    schedule = make_schedule(
        org,
        team,
        layers=[
            {
                "rotation": "daily",
                "participants": [users["operator"], users["manager"]],
                "start_date": date(2025, 3, 8),
            }
        ],
    )
    override_services.cover_create(
        actor=system(org),
        schedule=schedule,
        kind=override_services.OVERRIDE,
        user=users["admin"],
        replaces=users["manager"],
        starts_at=utc(2025, 3, 9, 0),
        ends_at=utc(2025, 3, 11, 0),
    )
    s = oncall.snapshot(schedule)
    assert s.time_zone == "America/New_York"
    # Sunday 2025-03-09 is the spring change in New York: its 09:00 EDT handoff is 13:00 UTC, not 14:00.
    assert oncall.oncall_at(s, utc(2025, 3, 9, 12, 59)) == users["operator"].pk
    assert oncall.oncall_at(s, utc(2025, 3, 9, 13, 0)) == users["admin"].pk  # the manager's day, covered
    assert oncall.oncall_at(s, utc(2025, 3, 10, 13, 0)) == users["operator"].pk


def test_current_stretch_spans_layers_of_the_same_person():
    weekly = layer([ALICE], id=1, rotation="weekly", start=date(2025, 1, 6))
    daytime = layer(
        [ALICE, BOB],
        id=2,
        priority=1,
        restrictions=[Restriction(days=frozenset(range(7)), start=time(9), end=time(17))],
        start=date(2025, 1, 6),
    )
    s = snap("UTC", weekly, daytime)
    current, upcoming = oncall.current_and_next(s, utc(2025, 1, 6, 10))
    assert (current.user_id, current.end) == (ALICE, utc(2025, 1, 7, 9))
    assert (upcoming.user_id, upcoming.start) == (BOB, utc(2025, 1, 7, 9))
