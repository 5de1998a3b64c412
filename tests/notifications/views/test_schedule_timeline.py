"""The schedule page's timeline: a row per layer above the final row, the window and its navigation,
the "now" line, the header summary, and overrides made from the dialog (typed, or prefilled from a
range picked on the timeline)."""

from datetime import datetime, time, timedelta
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from notifications import oncall
from notifications.models import ScheduleOverride
from tests.ledger import entries
from tests.notifications.factories import make_schedule

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")


class TimelineHTML(HTMLParser):
    """The rendered timeline: rows (data-row) in page order with their blocks, ticks, the now line,
    and dialogs with their inputs."""

    def __init__(self, html: str):
        super().__init__()
        self.rows: dict[str, list[dict]] = {}
        self.labels: dict[str, str] = {}
        self.ticks: list[dict] = []
        self.now: dict | None = None
        self.inputs: dict[str, dict] = {}
        self.dialogs: dict[str, dict] = {}
        self._row = None
        self._in_name = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if "data-row" in a:
            self._row = a["data-row"]
            self.rows[self._row] = []
        elif "tl-seg" in classes and "swatch" not in classes and "avatar" not in classes and self._row:
            self.rows[self._row].append({**a, "classes": classes})
        elif "stl-name" in classes and self._row:
            self._in_name = True
        elif "stl-tick" in classes:
            self.ticks.append(a)
        elif a.get("id") == "now-line":
            self.now = a
        elif tag == "dialog":
            self.dialogs[a["id"]] = a
        elif tag in ("input", "select") and a.get("name"):
            self.inputs[a["name"]] = a
        if "stl-overlay" in classes:
            self._row = None

    def handle_data(self, data):
        if self._in_name:
            self.labels[self._row] = data.strip()
            self._in_name = False


@pytest.fixture
def layered(org, team, users):
    """Two layers in Berlin: "Primary" daily 09:00 (operator, manager) and, above it, "Weekends"
    (manager only, Saturday and Sunday 08:00-20:00)."""
    team.time_zone = "Europe/Berlin"
    team.save(update_fields=["time_zone"])
    today = timezone.now().astimezone(BERLIN).date()
    return make_schedule(
        org,
        team,
        name="Payments on call",
        layers=[
            {
                "name": "Primary",
                "rotation": "daily",
                "start_date": today - timedelta(days=10),
                "handoff_time": time(9),
                "participants": [users["operator"], users["manager"]],
                "priority": 0,
            },
            {
                "name": "Weekends",
                "rotation": "weekly",
                "start_date": today - timedelta(days=10),
                "handoff_time": time(0),
                "participants": [users["manager"]],
                "priority": 5,
                "restrictions": [{"days": [5, 6], "start": "08:00", "end": "20:00"}],
            },
        ],
    )


def page(client, schedule, **params):
    response = client.get(f"/oncall/schedules/{schedule.pk}/", params)
    assert response.status_code == 200
    return response, TimelineHTML(response.content.decode())


def spans(blocks) -> list[tuple[str, datetime, datetime]]:
    return [
        (b["data-user"], datetime.fromisoformat(b["data-start"]), datetime.fromisoformat(b["data-end"]))
        for b in blocks
    ]


def test_one_row_per_layer_above_the_final_row(client_as, layered, users):
    response, html = page(client_as("viewer"), layered, window="2w")
    layers = {layer.name: layer for layer in layered.layers.all()}

    assert list(html.rows) == [f"layer-{layers['Weekends'].pk}", f"layer-{layers['Primary'].pk}", "final"]
    assert [html.labels[key] for key in html.rows] == ["Weekends", "Primary", "Final schedule"]

    view = response.context["timeline"]
    snap = oncall.snapshot(layered, view.start, view.end)
    rules = {rule.name: rule for rule in snap.layers}
    # Each layer row is that layer's own rotation (restrictions applied), not the merged result.
    primary = spans(html.rows[f"layer-{layers['Primary'].pk}"])
    assert [(who, lo, hi) for who, lo, hi in primary] == [
        (users_by_pk(users)[uid], lo, hi)
        for lo, hi, uid in oncall.layer_intervals(rules["Primary"], BERLIN, view.start, view.end)
    ]
    weekends = spans(html.rows[f"layer-{layers['Weekends'].pk}"])
    assert weekends and {who for who, _, _ in weekends} == {"manager"}
    assert all(lo.astimezone(BERLIN).weekday() in (5, 6) for _, lo, _ in weekends)
    # The final row is the computed schedule: the weekend layer wins on Saturdays and Sundays.
    final = spans(html.rows["final"])
    expected = [
        (users_by_pk(users).get(seg.user_id, ""), seg.start, seg.end)
        for seg in oncall.timeline(snap, view.start, view.end)
    ]
    assert final == expected
    assert final[0][1] == view.start and final[-1][2] == view.end
    # The same person has the same colour on every row.
    colours = {}
    for blocks in html.rows.values():
        for b in blocks:
            if b["data-user"]:
                colour = next(c for c in b["classes"] if c.startswith("c") and c[1:].isdigit())
                assert colours.setdefault(b["data-user"], colour) == colour


def users_by_pk(users) -> dict[int, str]:
    return {user.pk: user.username for user in users.values()}


def test_gaps_are_marked_on_the_final_row(client_as, schedule):
    _, html = page(client_as("viewer"), schedule, window="1w")
    gaps = [b for b in html.rows["final"] if b["data-source"] == ""]
    # Weekdays 09-17 only: nights and the weekend are nobody's.
    assert gaps and all("gap" in b["classes"] and b["data-user"] == "" for b in gaps)
    layer_blocks = [b for key, blocks in html.rows.items() if key != "final" for b in blocks]
    assert layer_blocks and not any("gap" in b["classes"] for b in layer_blocks)


@pytest.mark.parametrize(("window", "days", "minor"), [("1d", 1, 7), ("1w", 7, 1), ("2w", 14, 0)])
def test_window_chooses_days_and_scale(client_as, layered, window, days, minor):
    response, html = page(client_as("viewer"), layered, window=window)
    today = timezone.now().astimezone(BERLIN).date()
    major = [t for t in html.ticks if "data-day" in t]
    assert [t["data-day"] for t in major] == [(today + timedelta(days=n)).isoformat() for n in range(days)]
    assert len(html.ticks) - len(major) == minor * days
    view = response.context["timeline"]
    assert view.start == datetime.combine(today, time(0), tzinfo=BERLIN)
    assert view.end == datetime.combine(today + timedelta(days=days), time(0), tzinfo=BERLIN)
    content = response.content.decode()
    assert (
        f'href="?window={window}&amp;start={(today + timedelta(days=days)).isoformat()}" rel="next"'
        in content
    )
    assert (
        f'href="?window={window}&amp;start={(today - timedelta(days=days)).isoformat()}" rel="prev"'
        in content
    )
    assert f'href="?window={window}" aria-pressed="true"' in content


def test_unknown_window_and_start_fall_back_to_this_week(client_as, layered):
    response, html = page(client_as("viewer"), layered, window="1y", start="not-a-day")
    assert response.context["timeline"].window == "1w"
    assert len([t for t in html.ticks if "data-day" in t]) == 7
    assert html.now is not None


def test_now_line_sits_at_now(client_as, layered):
    before = timezone.now()
    response, html = page(client_as("viewer"), layered, window="1d")
    after = timezone.now()
    view = response.context["timeline"]
    span = (view.end - view.start).total_seconds()
    lowest = (before - view.start).total_seconds() / span * 100
    highest = (after - view.start).total_seconds() / span * 100
    assert lowest - 0.001 <= float(html.now["data-left"]) <= highest + 0.001
    assert f"left:{html.now['data-left']}%" in html.now["style"]


def test_no_now_line_on_another_week(client_as, layered):
    next_week = timezone.now().astimezone(BERLIN).date() + timedelta(days=7)
    response, html = page(client_as("viewer"), layered, window="1w", start=next_week.isoformat())
    assert html.now is None
    assert response.context["timeline"].start == datetime.combine(next_week, time(0), tzinfo=BERLIN)


def test_header_summary_matches_the_layers_shown(client_as, layered):
    response, html = page(client_as("viewer"), layered)
    content = response.content.decode()
    view = response.context["timeline"]
    layer_rows = [key for key in html.rows if key.startswith("layer-")]
    assert f'data-layer-count="{len(layer_rows)}"' in content
    assert "<strong>2 layers</strong>" in content
    for row in view.layer_rows:
        summary = content.split(f'data-layer-summary="{row.layer_id}">', 1)[1].split("</span>", 1)[0]
        assert summary.startswith(f"{row.label} — {row.description}")
    assert "Weekly, handoff" in content and "Sat, Sun 08:00-20:00" in content
    # "On call now" is whoever the final row has at the now line.
    now = timezone.now()
    current = next(
        b["data-user"]
        for b in html.rows["final"]
        if datetime.fromisoformat(b["data-start"]) <= now < datetime.fromisoformat(b["data-end"])
    )
    assert f'<span id="oncall-now">{current}</span>' in content


def test_header_counts_one_layer_after_one_is_removed(client_as, layered):
    layered.layers.get(name="Weekends").delete()
    response, html = page(client_as("viewer"), layered)
    content = response.content.decode()
    assert "<strong>1 layer</strong>" in content and 'data-layer-count="1"' in content
    assert [key for key in html.rows if key.startswith("layer-")] == [f"layer-{layered.layers.get().pk}"]


def test_schedule_without_layers_says_what_to_do(client_as, org, team):
    schedule = make_schedule(org, team, name="Empty")
    content = client_as("manager").get(f"/oncall/schedules/{schedule.pk}/").content.decode()
    assert "No layers yet" in content and "<strong>0 layers</strong>" in content
    assert f'href="/oncall/schedules/{schedule.pk}/layers/new/"' in content


def test_override_created_through_the_dialog_form_shows_on_the_final_row(client_as, layered, users):
    client = client_as("manager")
    _, html = page(client, layered)
    assert html.dialogs["new-override"].get("data-open") is None  # closed until asked for
    assert "data-searchable" in html.inputs["override-user"]
    assert html.inputs["override-starts_at"]["type"] == "datetime-local"
    tomorrow = timezone.now().astimezone(BERLIN).date() + timedelta(days=1)
    response = client.post(
        f"/oncall/schedules/{layered.pk}/overrides/",
        {
            "override-user": users["operator"].pk,
            "override-starts_at": f"{tomorrow}T13:00",
            "override-ends_at": f"{tomorrow}T15:30",
        },
    )
    assert response.status_code == 302
    override = ScheduleOverride.objects.get()
    assert override.starts_at == datetime.combine(tomorrow, time(13), tzinfo=BERLIN)
    assert override.ends_at == datetime.combine(tomorrow, time(15, 30), tzinfo=BERLIN)
    assert entries("schedule.override_created").count() == 1
    _, html = page(client, layered)
    covered = [b for b in html.rows["final"] if b["data-source"] == "override"]
    assert spans(covered) == [("operator", override.starts_at, override.ends_at)]
    assert "override" in covered[0]["classes"]
    # Layer rows still show the rotation underneath.
    assert not any(b["data-source"] == "override" for k, v in html.rows.items() if k != "final" for b in v)


def test_a_range_picked_on_the_timeline_prefills_the_dialog(client_as, layered, users):
    client = client_as("manager")
    tomorrow = timezone.now().astimezone(BERLIN).date() + timedelta(days=1)
    start, end = f"{tomorrow}T10:15", f"{tomorrow}T18:45"
    _, html = page(client, layered, override_start=start, override_end=end)
    assert "data-open" in html.dialogs["new-override"]
    assert html.inputs["override-starts_at"]["value"] == start
    assert html.inputs["override-ends_at"]["value"] == end
    response = client.post(
        f"/oncall/schedules/{layered.pk}/overrides/",
        {"override-user": users["manager"].pk, "override-starts_at": start, "override-ends_at": end},
    )
    assert response.status_code == 302
    override = ScheduleOverride.objects.get()
    assert (override.user, override.starts_at) == (
        users["manager"],
        datetime.combine(tomorrow, time(10, 15), tzinfo=BERLIN),
    )


def test_unreadable_prefill_leaves_the_dialog_closed(client_as, layered):
    _, html = page(client_as("manager"), layered, override_start="soon", override_end="2030-13-40T99:00")
    assert "data-open" not in html.dialogs["new-override"]
    assert "value" not in html.inputs["override-starts_at"]


def test_refused_override_reopens_the_dialog_with_its_errors(client_as, layered, users):
    response = client_as("manager").post(
        f"/oncall/schedules/{layered.pk}/overrides/",
        {
            "override-user": users["operator"].pk,
            "override-starts_at": "2030-01-02T10:00",
            "override-ends_at": "2030-01-01T10:00",
        },
    )
    assert response.status_code == 400
    html = TimelineHTML(response.content.decode())
    assert "data-open" in html.dialogs["new-override"]
    assert "The end must be after the start." in response.content.decode()
    assert not ScheduleOverride.objects.exists()


def test_viewers_outside_the_team_get_no_override_dialog(client_as, layered):
    _, html = page(client_as("viewer"), layered)
    assert "new-override" not in html.dialogs
