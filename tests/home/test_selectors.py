"""What each home card shows for a given database state."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.services import record
from incidents.services import incident_add_responders, incident_reassign, incident_resolve
from notifications.models import Notification, NotificationStatus
from opsplatform.core.actors import Actor
from opsplatform.home.selectors import activity, attention, deliveries, mine, oncall, sla
from tests.accounts.factories import TeamFactory
from tests.notifications.ticks import drive, escalate

pytestmark = pytest.mark.django_db


def titles(rows):
    return [row.incident.title for row in rows]


# --- needs attention and the stat tiles -------------------------------------------------------


def test_needs_attention_puts_unacknowledged_first_worst_severity_first(org, busy_org):
    card = attention.needs_attention(org, timezone.now())

    assert [g.status for g in card.groups] == ["triggered", "acknowledged"]
    assert [g.title for g in card.groups] == ["Unacknowledged", "Acknowledged"]
    assert titles(card.groups[0].rows) == ["Card payments failing", "Slow search", "Login latency"]
    assert titles(card.groups[1].rows) == ["Disk filling on db-2"]
    assert card.by_severity == [("sev1", 1), ("sev2", 1), ("sev3", 1), ("sev4", 1)]
    assert (card.total, card.shown, card.more) == (4, 4, 0)
    first = card.groups[0].rows[0]
    assert first.sla == "breached"
    assert (first.deadline_kind, first.deadline) == ("acknowledge", first.incident.ack_due_at)
    acked = card.groups[1].rows[0]
    assert acked.deadline_kind == "resolve"  # acknowledged: the resolution clock is the one left


def test_needs_attention_leaves_out_resolved_incidents_and_says_how_many_more(org, actor_as, open_incident):
    done = open_incident("Fixed already")
    incident_resolve(actor=actor_as("operator"), incident=done)
    for n in range(3):
        open_incident(f"Open {n}")

    card = attention.needs_attention(org, timezone.now(), limit=2)

    assert card.total == 3 and card.shown == 2 and card.more == 1
    shown = [row.incident.title for g in card.groups for row in g.rows]
    assert "Fixed already" not in shown
    assert card.list_url == "/incidents/?open=1&sort=severity"


def test_stats_count_open_incidents_by_status_and_sla(org, busy_org, other_org, outsider):
    by_key = {s.key: s for s in attention.stats(org)}

    assert {k: s.value for k, s in by_key.items()} == {
        "triggered": 3,
        "acknowledged": 1,
        "breached": 1,
        "at_risk": 2,
    }
    assert by_key["triggered"].tone == "bad"
    assert by_key["triggered"].url == "/incidents/?status=triggered"
    assert by_key["breached"].url == "/incidents/?sla=breached&open=1"
    # Another organization's home counts nothing of Acme's.
    assert {s.value for s in attention.stats(other_org)} == {0}


def test_cards_keep_a_fixed_number_of_queries_however_many_incidents(org, users, open_incident):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            attention.needs_attention(org, timezone.now())
            mine.my_incidents(org, users["operator"], timezone.now())
            sla.sla_watch(org, timezone.now())
        return len(captured)

    open_incident("One", assignees=[users["operator"]])
    few = queries()
    for n in range(6):
        open_incident(f"More {n}", assignees=[users["operator"], users["manager"]])
    assert queries() == few


# --- mine and SLA -----------------------------------------------------------------------------


def test_mine_lists_assigned_and_responding_once_each(org, users, actor_as, open_incident):
    operator = actor_as("operator")
    assigned = open_incident("Assigned to me")
    both = open_incident("Assigned and responding")
    responding = open_incident("Responding")
    someone_else = open_incident("Manager's")
    closed = open_incident("Closed")
    me = users["operator"]
    incident_reassign(actor=operator, incident=assigned, assignees=[me])
    incident_reassign(actor=operator, incident=both, assignees=[me])
    incident_add_responders(actor=operator, incident=both, responders=[me])
    incident_add_responders(actor=operator, incident=responding, responders=[me])
    incident_reassign(actor=operator, incident=someone_else, assignees=[users["manager"]])
    incident_reassign(actor=operator, incident=closed, assignees=[me])
    incident_resolve(actor=operator, incident=closed)

    card = mine.my_incidents(org, me, timezone.now())

    assert sorted(titles(card.rows)) == ["Assigned and responding", "Assigned to me", "Responding"]
    assert not card.more
    assert card.list_url == f"/incidents/?assignee={me.pk}&open=1"
    assert mine.my_incidents(org, users["viewer"], timezone.now()).rows == []


def test_sla_card_lists_breaches_then_risks_by_deadline(org, busy_org):
    card = sla.sla_watch(org, timezone.now())

    assert titles(card.breached) == ["Card payments failing"]
    assert titles(card.at_risk) == ["Slow search", "Login latency"]  # the earlier deadline first
    assert not card.empty


def test_sla_card_is_empty_when_every_clock_is_on_track(org, open_incident, sla_policies):
    open_incident("Fresh")

    assert sla.sla_watch(org, timezone.now()).empty


# --- on call ----------------------------------------------------------------------------------

WEDNESDAY = datetime(2025, 1, 8, 12, 0, tzinfo=UTC)  # week 1 of the rota: the operator's week
NEXT_MONDAY_9 = datetime(2025, 1, 13, 9, 0, tzinfo=UTC)


def test_on_call_now_and_next_for_the_person_on_call(org, actor_as, users, weekly_schedule):
    card = oncall.oncall_card(org, actor_as("operator"), WEDNESDAY)

    assert card.scope == "mine"
    [row] = card.schedules
    assert row.schedule == weekly_schedule
    assert (row.current_user, row.current.end) == (users["operator"], NEXT_MONDAY_9)
    assert (row.next_user, row.next.start) == (users["manager"], NEXT_MONDAY_9)
    assert row.me_now and card.on_call_now == [row]
    assert card.on_call_until == NEXT_MONDAY_9
    assert card.my_next is None


def test_next_shift_for_a_team_member_not_on_call_now(org, actor_as, users, weekly_schedule):
    card = oncall.oncall_card(org, actor_as("manager"), WEDNESDAY)

    assert card.on_call_now == []
    assert (card.my_next.schedule, card.my_next.start) == (weekly_schedule, NEXT_MONDAY_9)
    # Two weeks later it is the manager's week again... and the operator is a week away.
    later = oncall.oncall_card(org, actor_as("operator"), datetime(2025, 1, 15, 12, 0, tzinfo=UTC))
    assert later.on_call_now == [] and later.my_next.start == datetime(2025, 1, 20, 9, 0, tzinfo=UTC)


def test_people_on_no_team_see_every_schedule_if_they_manage_schedules(org, actor_as, weekly_schedule):
    viewer_card = oncall.oncall_card(org, actor_as("viewer"), WEDNESDAY)
    admin_card = oncall.oncall_card(org, actor_as("admin"), WEDNESDAY)

    assert (viewer_card.scope, viewer_card.schedules) == ("none", [])
    assert admin_card.scope == "all"
    assert [row.schedule for row in admin_card.schedules] == [weekly_schedule]
    assert admin_card.on_call_now == [] and admin_card.my_next is None


def test_teams_without_a_schedule_are_named(org, actor_as, users, team):
    TeamFactory(organization=org, name="Search", slug="search").members.add(users["operator"])

    card = oncall.oncall_card(org, actor_as("operator"), WEDNESDAY)

    assert card.schedules == []
    assert [t.name for t in card.teams_without_schedule] == ["Payments", "Search"]


# --- delivery health --------------------------------------------------------------------------


@pytest.mark.usefixtures("allow_loopback", "fast_retries")
def test_dead_letters_and_failing_channels(org, webhook, open_incident, receiver):
    assert deliveries.delivery_health(org, timezone.now()).healthy

    receiver.respond_with(then=503)
    incident, row = escalate(open_incident, title="Queue backlog")
    drive(lambda: Notification.objects.get(pk=row.pk).status == NotificationStatus.DEAD, row.next_attempt_at)

    health = deliveries.delivery_health(org, timezone.now())
    assert not health.healthy
    assert health.failing_channels == [webhook] and health.failing_total == 1
    assert health.failing_channels[0].consecutive_failures == 5
    assert [n.pk for n in health.dead_letters] == [row.pk] and health.dead_total == 1
    assert health.dead_letters[0].incident == incident


# --- recent activity --------------------------------------------------------------------------


def test_activity_folds_machine_noise_into_one_line(org, users, actor_as, open_incident):
    incident = open_incident("Card payments failing")
    delivery = Actor.system("delivery", organization=org)
    for _ in range(3):
        record(actor=delivery, verb="notification.sent", target=incident, data={})
    record(actor=delivery, verb="notification.failed", target=incident, data={})
    incident_resolve(actor=actor_as("manager"), incident=incident)

    items = activity.recent_activity(org, actor_as("operator")).items

    resolved, fold, opened = items
    assert (resolved.actor, resolved.text, resolved.incident, resolved.tone) == (
        "manager",
        "resolved",
        incident,
        "ok",
    )
    assert fold.folded and fold.text == "3 notifications delivered · 1 delivery attempt failed"
    assert (opened.actor, opened.is_me, opened.text) == ("You", True, "opened")


def test_activity_shows_the_whole_ledger_only_to_audit_readers(org, actor_as, open_incident):
    open_incident("Card payments failing")
    record(actor=actor_as("admin"), verb="team.created", target=org, data={"name": "Search"})

    managers = activity.recent_activity(org, actor_as("manager"))
    operators = activity.recent_activity(org, actor_as("operator"))

    assert managers.full_ledger and not operators.full_ledger
    assert [i.text for i in managers.items] == ["created team “Search”", "opened"]
    assert [i.text for i in operators.items] == ["opened"]
