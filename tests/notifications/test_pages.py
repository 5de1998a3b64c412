"""The paging pages: schedules (timeline, overrides, swaps, layers), policies, channels, personal
settings with verification, the acknowledge link, and who may do what."""

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import timezone

from audit.models import LedgerEntry
from notifications.escalation import run_escalation_tick
from notifications.ack_links import ack_token
from notifications.models import (
    Channel,
    ContactMethod,
    EscalationPolicy,
    NotificationRule,
    Schedule,
    ScheduleOverride,
    ServiceEscalation,
    ShiftSwap,
    TeamEscalation,
)
from notifications.selectors import verification_code
from notifications.tasks import send_verification
from tests.notifications.factories import make_channel, make_policy, make_schedule, step

pytestmark = pytest.mark.django_db


@pytest.fixture
def schedule(org, team, users):
    today = timezone.now().astimezone(ZoneInfo(team.time_zone)).date()
    return make_schedule(
        org,
        team,
        layers=[
            {
                "rotation": "daily",
                "start_date": today - timedelta(days=3),
                "handoff_time": time(9),
                "participants": [users["operator"], users["manager"]],
                "restrictions": [{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}],
            }
        ],
    )


# --- schedules ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "operator", "manager"])
def test_members_see_schedules_with_who_is_on_call(client_as, schedule, role):
    page = client_as(role).get("/oncall/")
    assert page.status_code == 200
    assert schedule.name in page.content.decode()


def test_schedule_page_renders_two_weeks_with_gaps(client_as, schedule):
    page = client_as("viewer").get(f"/oncall/schedules/{schedule.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count('class="tl-row') == 14
    # Weekday 09-17 only: every day has a gap, highlighted.
    assert html.count("tl-row has-gap") == 14
    assert 'class="tl-seg gap"' in html
    assert "New feed URL" in html


def test_other_organizations_schedule_is_not_found(client_as, schedule):
    assert client_as("outsider").get(f"/oncall/schedules/{schedule.pk}/").status_code == 404


def test_manager_creates_a_schedule_and_a_layer(client_as, team, users):
    client = client_as("manager")
    response = client.post("/oncall/", {"name": "Night shift", "team": team.pk, "description": ""})
    schedule = Schedule.objects.get(name="Night shift")
    assert response.status_code == 302 and response["Location"] == f"/oncall/schedules/{schedule.pk}/"
    response = client.post(
        f"/oncall/schedules/{schedule.pk}/layers/new/",
        {
            "name": "Primary",
            "participants": "operator, manager",
            "rotation": "weekly",
            "start_date": "2025-01-06",
            "handoff_time": "09:00",
        },
    )
    assert response.status_code == 302
    layer = schedule.layers.get()
    assert [p.user.username for p in layer.participants.order_by("position")] == ["operator", "manager"]
    assert LedgerEntry.objects.filter(verb="schedule.layer_added", target_id=str(schedule.pk)).exists()


def test_layer_form_refuses_strangers(client_as, schedule, outsider):
    response = client_as("manager").post(
        f"/oncall/schedules/{schedule.pk}/layers/new/",
        {
            "name": "X",
            "participants": "outsider",
            "rotation": "weekly",
            "start_date": "2025-01-06",
            "handoff_time": "09:00",
        },
    )
    assert response.status_code == 200
    assert "Not members of this organization: outsider" in response.content.decode()


@pytest.mark.parametrize(("role", "status"), [("viewer", 403), ("operator", 403), ("manager", 302)])
def test_who_may_create_schedules(client_as, team, role, status):
    response = client_as(role).post("/oncall/", {"name": "S", "team": team.pk})
    assert response.status_code == status


def test_override_from_the_page_in_the_team_time_zone(client_as, schedule, users, team):
    team.time_zone = "Europe/Berlin"
    team.save(update_fields=["time_zone"])
    tomorrow = (timezone.now() + timedelta(days=1)).astimezone(ZoneInfo("Europe/Berlin")).date()
    response = client_as("manager").post(
        f"/oncall/schedules/{schedule.pk}/overrides/",
        {
            "override-user": users["admin"].pk,
            "override-starts_at": f"{tomorrow}T18:00",
            "override-ends_at": f"{tomorrow}T23:00",
            "override-note": "covering the evening",
        },
    )
    assert response.status_code == 302
    override = ScheduleOverride.objects.get()
    expected = datetime.combine(tomorrow, time(18), tzinfo=ZoneInfo("Europe/Berlin"))
    assert override.starts_at == expected
    page = client_as("viewer").get(f"/oncall/schedules/{schedule.pk}/").content.decode()
    assert 'data-user="admin" data-source="override"' in page


def test_a_team_member_may_cover_for_a_colleague_but_not_arrange_others(client_as, schedule, users):
    start = (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT10:00")
    end = (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT12:00")
    operator = client_as("operator")  # in the schedule's team
    ok = operator.post(
        f"/oncall/schedules/{schedule.pk}/overrides/",
        {
            "override-user": users["operator"].pk,
            "override-replaces": users["manager"].pk,
            "override-starts_at": start,
            "override-ends_at": end,
        },
    )
    assert ok.status_code == 302
    refused = operator.post(
        f"/oncall/schedules/{schedule.pk}/overrides/",
        {
            "override-user": users["admin"].pk,
            "override-replaces": users["manager"].pk,
            "override-starts_at": start,
            "override-ends_at": end,
        },
    )
    assert refused.status_code == 403
    assert ScheduleOverride.objects.count() == 1


def test_override_form_reports_bad_ranges(client_as, schedule, users):
    response = client_as("manager").post(
        f"/oncall/schedules/{schedule.pk}/overrides/",
        {
            "override-user": users["admin"].pk,
            "override-starts_at": "2030-01-02T10:00",
            "override-ends_at": "2030-01-01T10:00",
        },
    )
    assert response.status_code == 400
    assert "The end must be after the start." in response.content.decode()


def test_nonexistent_local_time_is_reported(client_as, schedule, users, team):
    team.time_zone = "Europe/Berlin"
    team.save(update_fields=["time_zone"])
    response = client_as("manager").post(
        f"/oncall/schedules/{schedule.pk}/overrides/",
        {
            "override-user": users["admin"].pk,
            "override-starts_at": "2030-03-31T02:30",
            "override-ends_at": "2030-03-31T05:00",
        },
    )
    assert response.status_code == 400
    assert "Europe/Berlin" in response.content.decode()


def test_swap_from_the_page(client_as, schedule, users):
    start = (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT00:00")
    end = (timezone.now() + timedelta(days=3)).strftime("%Y-%m-%dT00:00")
    response = client_as("manager").post(
        f"/oncall/schedules/{schedule.pk}/swaps/",
        {
            "swap-first_user": users["operator"].pk,
            "swap-second_user": users["manager"].pk,
            "swap-starts_at": start,
            "swap-ends_at": end,
        },
    )
    assert response.status_code == 302
    assert ShiftSwap.objects.count() == 1


def test_schedule_page_query_count_does_not_grow_with_overrides(
    client_as, schedule, users, django_assert_max_num_queries
):
    client = client_as("viewer")
    client.get(f"/oncall/schedules/{schedule.pk}/")
    for n in range(10):
        ScheduleOverride.objects.create(
            organization=schedule.organization,
            schedule=schedule,
            user=users["admin"],
            starts_at=timezone.now() + timedelta(hours=n * 3),
            ends_at=timezone.now() + timedelta(hours=n * 3 + 1),
        )
    with django_assert_max_num_queries(30):
        assert client.get(f"/oncall/schedules/{schedule.pk}/").status_code == 200


# --- policies -----------------------------------------------------------------------------------


def test_manager_builds_a_policy_on_the_page(client_as, schedule, service, team, users):
    client = client_as("manager")
    response = client.post("/oncall/policies/", {"name": "Payments paging", "repeat_count": 1})
    policy = EscalationPolicy.objects.get(name="Payments paging")
    assert response.status_code == 302
    response = client.post(
        f"/oncall/policies/{policy.pk}/steps/",
        {"delay_minutes": 10, "schedules": [schedule.pk], "users": [users["admin"].pk]},
    )
    assert response.status_code == 302
    response = client.post(
        f"/oncall/policies/{policy.pk}/attach/", {"services": [service.pk], "default_for_teams": [team.pk]}
    )
    assert response.status_code == 302
    assert ServiceEscalation.objects.get(service=service).policy == policy
    assert TeamEscalation.objects.get(team=team).policy == policy
    page = client.get(f"/oncall/policies/{policy.pk}/").content.decode()
    assert "on call in Primary" in page and "admin" in page


def test_step_needs_a_target(client_as, org):
    policy = make_policy(org, name="Empty")
    response = client_as("manager").post(f"/oncall/policies/{policy.pk}/steps/", {"delay_minutes": 5})
    assert response.status_code == 400
    assert "Pick at least one" in response.content.decode()


def test_operators_cannot_change_policies(client_as, org, users):
    policy = make_policy(org, step(("user", users["operator"])))
    client = client_as("operator")
    assert client.get(f"/oncall/policies/{policy.pk}/").status_code == 200
    assert client.post(f"/oncall/policies/{policy.pk}/steps/", {"delay_minutes": 5}).status_code == 403
    assert client.post(f"/oncall/policies/{policy.pk}/delete/").status_code == 403


# --- channels -----------------------------------------------------------------------------------


def test_admin_creates_a_webhook_channel_and_sees_the_secret_once(client_as):
    client = client_as("admin")
    response = client.post(
        "/oncall/channels/",
        {"name": "Ops hook", "kind": "webhook", "url": "https://hooks.example.com/secret-path-123"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    secret = re.search(r"whsec_[A-Za-z0-9_-]+", html).group(0)
    assert response["Cache-Control"].startswith("max-age=0")
    channel = Channel.objects.get(name="Ops hook")
    # Never again: neither the URL's secret path nor the signing secret.
    for url in ("/oncall/channels/", f"/oncall/channels/{channel.pk}/"):
        again = client.get(url).content.decode()
        assert secret not in again and "secret-path-123" not in again
    assert "hooks.example.com" in client.get("/oncall/channels/").content.decode()


def test_channel_form_validates_per_kind(client_as):
    client = client_as("admin")
    bad_url = client.post(
        "/oncall/channels/", {"name": "x", "kind": "slack", "url": "http://169.254.169.254/"}
    )
    assert bad_url.status_code == 400 and "not a public address" in bad_url.content.decode()
    twilio = client.post(
        "/oncall/channels/",
        {
            "name": "sms",
            "kind": "twilio_sms",
            "account_sid": "nope",
            "auth_token": "t",
            "from_number": "+15005550006",
        },
    )
    assert twilio.status_code == 400 and "account SID" in twilio.content.decode()


@pytest.mark.parametrize(("role", "status"), [("operator", 403), ("manager", 403), ("admin", 302)])
def test_only_admins_manage_channels(client_as, role, status):
    response = client_as(role).post(
        "/oncall/channels/", {"name": "Mail", "kind": "email", "recipients": "ops@example.test"}
    )
    assert response.status_code == status


def test_channel_delete_refused_while_a_policy_uses_it(client_as, org):
    channel = make_channel(org, kind="email", recipients=["a@example.test"]).channel
    make_policy(org, step(("channel", channel)))
    response = client_as("admin").post(f"/oncall/channels/{channel.pk}/delete/", follow=True)
    assert "Escalation policies notify this channel" in response.content.decode()
    assert Channel.objects.filter(pk=channel.pk).exists()


# --- personal settings --------------------------------------------------------------------------


def test_email_contact_is_verified_with_a_code(client_as, users):
    client = client_as("operator")
    response = client.post("/settings/notifications/", {"kind": "email", "address": "Me@Example.test"})
    assert response.status_code == 302
    contact = ContactMethod.objects.get(user=users["operator"])
    assert contact.address == "me@example.test" and not contact.is_verified
    # The code goes out after commit, through the task; run what the worker would.
    send_verification(contact.pk, contact.verification_nonce, None)
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    assert code == verification_code(contact)
    wrong = "000000" if code != "000000" else "111111"
    client.post(f"/settings/notifications/contacts/{contact.pk}/verify/", {"code": wrong})
    contact.refresh_from_db()
    assert not contact.is_verified and contact.verification_attempts == 1
    client.post(f"/settings/notifications/contacts/{contact.pk}/verify/", {"code": code})
    contact.refresh_from_db()
    assert contact.is_verified


def test_wrong_codes_are_limited(client_as, users):
    client = client_as("operator")
    client.post("/settings/notifications/", {"kind": "email", "address": "me@example.test"})
    contact = ContactMethod.objects.get(user=users["operator"])
    right = verification_code(contact)
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(5):
        client.post(f"/settings/notifications/contacts/{contact.pk}/verify/", {"code": wrong})
    client.post(f"/settings/notifications/contacts/{contact.pk}/verify/", {"code": right})
    contact.refresh_from_db()
    assert not contact.is_verified


def test_rules_use_verified_contacts_only(client_as, users):
    client = client_as("operator")
    contact = ContactMethod.objects.create(user=users["operator"], kind="email", address="x@example.test")
    assert (
        client.post(
            "/settings/notifications/rules/", {"contact_method": contact.pk, "delay_minutes": 0}
        ).status_code
        == 400
    )
    contact.verified_at = timezone.now()
    contact.save()
    assert (
        client.post(
            "/settings/notifications/rules/", {"contact_method": contact.pk, "delay_minutes": 5}
        ).status_code
        == 302
    )
    assert NotificationRule.objects.get().delay_minutes == 5


def test_someone_elses_contact_method_is_not_found(client_as, users):
    contact = ContactMethod.objects.create(user=users["manager"], kind="email", address="m@example.test")
    assert (
        client_as("operator").post(f"/settings/notifications/contacts/{contact.pk}/delete/").status_code
        == 404
    )
    assert ContactMethod.objects.filter(pk=contact.pk).exists()


def test_settings_page_never_shows_full_numbers(client_as, users):
    ContactMethod.objects.create(user=users["operator"], kind="sms", address="+4915112345678")
    html = client_as("operator").get("/settings/notifications/").content.decode()
    assert "+4915112345678" not in html and "+49…5678" in html


# --- acknowledge link ---------------------------------------------------------------------------


def test_personal_ack_link_confirms_then_acknowledges_without_signing_in(client, users, open_incident):
    incident = open_incident()
    token = ack_token(incident_id=incident.pk, user_id=users["operator"].pk, notification_id=1)
    page = client.get(f"/ack/{token}/")
    assert page.status_code == 200 and b"confirm-ack" in page.content
    incident.refresh_from_db()
    assert incident.status == "triggered", "a GET (a mail scanner) acknowledges nothing"
    assert client.post(f"/ack/{token}/").status_code == 200
    incident.refresh_from_db()
    assert incident.status == "acknowledged" and incident.acknowledged_by == users["operator"]


def test_ack_link_for_a_viewer_is_refused(client, users, open_incident):
    incident = open_incident()
    token = ack_token(incident_id=incident.pk, user_id=users["viewer"].pk, notification_id=1)
    assert client.post(f"/ack/{token}/").status_code == 403
    incident.refresh_from_db()
    assert incident.status == "triggered"


def test_tampered_or_expired_ack_links_are_refused(client, users, open_incident, settings):
    incident = open_incident()
    token = ack_token(incident_id=incident.pk, user_id=users["operator"].pk, notification_id=1)
    assert client.get(f"/ack/{token[:-2]}xx/").status_code == 410
    settings.ACK_LINK_MAX_AGE = timedelta(seconds=-1)
    assert client.post(f"/ack/{token}/").status_code == 410
    incident.refresh_from_db()
    assert incident.status == "triggered"


# --- incident page and dashboard ----------------------------------------------------------------


def test_incident_page_shows_deliveries(client_as, org, service, open_incident):
    channel = make_channel(org, kind="email", name="Ops mail", recipients=["ops@example.test"]).channel
    make_policy(org, step(("channel", channel)), services=[service])
    incident = open_incident()
    run_escalation_tick(now=incident.next_escalation_at)
    html = client_as("viewer").get(f"/incidents/{incident.pk}/").content.decode()
    assert 'id="deliveries"' in html and "Ops mail" in html
    assert "ran an escalation step" in html


def test_delivery_dashboard(client_as):
    assert client_as("viewer").get("/oncall/deliveries/").status_code == 200


def test_today_in_team_zone_default(client_as, schedule):
    response = client_as("manager").get(f"/oncall/schedules/{schedule.pk}/layers/new/")
    assert response.status_code == 200
    assert str(date.today().year) in response.content.decode()
