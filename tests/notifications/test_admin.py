"""On-call and notifications in the admin: scoped to the manager's organizations, read-only, and its
actions (enable or disable a channel, resend a dead letter) go through the services."""

import pytest

from audit.models import LedgerEntry
from notifications.escalation import run_escalation_tick
from notifications.models import EscalationPolicy, Notification, NotificationStatus
from tests.ledger import entries
from tests.notifications.factories import make_channel, make_policy, make_schedule, step

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_manager(users):
    manager = users["manager"]
    manager.is_staff = True
    manager.save(update_fields=["is_staff"])
    return manager


def test_admin_is_scoped_and_actions_go_through_services(
    client, staff_manager, org, other_org, service, open_incident
):
    mine = make_channel(org, kind="email", name="Mine", recipients=["a@example.test"]).channel
    theirs = make_channel(other_org, kind="email", name="Theirs", recipients=["b@example.test"]).channel
    client.force_login(staff_manager)
    listing = client.get("/admin/notifications/channel/").content.decode()
    assert "Mine" in listing and "Theirs" not in listing
    assert client.get(f"/admin/notifications/channel/{theirs.pk}/change/").status_code == 302
    page = client.get(f"/admin/notifications/channel/{mine.pk}/change/").content.decode()
    assert "secrets_encrypted" not in page
    # Managers may not manage channels (admins may): the action is refused by the service.
    client.post("/admin/notifications/channel/", {"action": "disable", "_selected_action": [mine.pk]})
    mine.refresh_from_db()
    assert mine.is_active
    assert not entries("channel.updated").exists()


def test_admin_resends_dead_letters(client, users, org, service, open_incident):
    admin = users["admin"]
    admin.is_staff = True
    admin.save(update_fields=["is_staff"])
    channel = make_channel(org, kind="email", recipients=["a@example.test"]).channel
    make_policy(org, step(("channel", channel)), services=[service])
    incident = open_incident()
    run_escalation_tick(now=incident.next_escalation_at)
    row = Notification.objects.get()
    Notification.objects.filter(pk=row.pk).update(status=NotificationStatus.DEAD, attempts=6)
    client.force_login(admin)
    client.post("/admin/notifications/notification/", {"action": "resend", "_selected_action": [row.pk]})
    row.refresh_from_db()
    assert row.status == NotificationStatus.PENDING
    assert LedgerEntry.objects.filter(verb="notification.resend_requested", actor_label="admin").exists()


@pytest.mark.parametrize("model", ["channel", "schedule", "escalationpolicy", "notification"])
def test_admin_pages_render(client, staff_manager, org, team, users, service, open_incident, model):
    channel = make_channel(org, kind="email", recipients=["a@example.test"]).channel
    schedule = make_schedule(org, team, layers=[{"participants": [users["operator"]]}])
    make_policy(org, step(("schedule", schedule), ("channel", channel)), services=[service])
    incident = open_incident()
    run_escalation_tick(now=incident.next_escalation_at)
    client.force_login(staff_manager)
    listing = client.get(f"/admin/notifications/{model}/")
    assert listing.status_code == 200
    first = {
        "channel": channel,
        "schedule": schedule,
        "escalationpolicy": EscalationPolicy.objects.get(),
        "notification": Notification.objects.first(),
    }[model]
    assert client.get(f"/admin/notifications/{model}/{first.pk}/change/").status_code == 200


def test_a_rows_page_is_view_only_and_its_save_writes_nothing(client, staff_manager, org):
    channel = make_channel(org, kind="email", name="Mine", recipients=["a@example.test"]).channel
    client.force_login(staff_manager)
    url = f"/admin/notifications/channel/{channel.pk}/change/"
    ledger_before = LedgerEntry.objects.count()

    assert client.get(url).status_code == 200
    saved = client.post(url, {"name": "Renamed", "is_active": ""})

    assert saved.status_code == 403
    channel.refresh_from_db()
    assert (channel.name, channel.is_active) == ("Mine", True)
    assert LedgerEntry.objects.count() == ledger_before
