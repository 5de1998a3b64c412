"""Service-level rules of the paging app (permission, validation, ledger) and the admin and demo seed
that write through them."""

import io
import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.utils import timezone

from audit.models import LedgerEntry
from incidents.models import Service
from notifications.escalation import run_escalation_tick
from notifications.models import (
    Channel,
    ContactMethod,
    EscalationPolicy,
    Notification,
    NotificationStatus,
    Schedule,
    ServiceEscalation,
)
from notifications.services import channels as channel_services
from notifications.services import contacts as contact_services
from notifications.services import schedules as schedule_services
from notifications.selectors import channel_secrets, verification_code
from opsplatform.accounts.models import Organization, User
from opsplatform.core.crypto import DecryptionError
from tests.notifications.factories import make_channel, make_policy, make_schedule, step

pytestmark = pytest.mark.django_db


def test_schedule_capability(actor_as, team):
    with pytest.raises(PermissionDenied):
        schedule_services.schedule_create(actor=actor_as("operator"), team=team, name="X")
    schedule = schedule_services.schedule_create(actor=actor_as("manager"), team=team, name="X")
    entry = LedgerEntry.objects.get(verb="schedule.created")
    assert entry.target_id == str(schedule.pk) and entry.actor_label == "manager"


def test_schedule_cannot_be_deleted_while_paged(org, team, users, actor_as):
    schedule = make_schedule(org, team)
    make_policy(org, step(("schedule", schedule)))
    with pytest.raises(ValidationError, match="Escalation policies page this schedule"):
        schedule_services.schedule_delete(actor=actor_as("manager"), schedule=schedule)
    assert Schedule.objects.filter(pk=schedule.pk).exists()


def test_restrictions_are_validated(org, team, users, actor_as):
    schedule = make_schedule(org, team)
    for bad in (
        [{"days": [7], "start": "09:00", "end": "17:00"}],
        [{"days": [1], "start": "09:00", "end": "09:00"}],
    ):
        with pytest.raises(ValidationError):
            schedule_services.layer_save(
                actor=actor_as("manager"),
                schedule=schedule,
                name="L",
                rotation="daily",
                start_date=timezone.now().date(),
                handoff_time="09:00",
                participants=[users["operator"]],
                restrictions=bad,
            )


def test_channel_ledger_entry_names_no_secret(actor_as):
    issued = channel_services.channel_create(
        actor=actor_as("admin"),
        name="Slack",
        kind="slack",
        url="https://hooks.slack.com/services/T1/B2/zzsecret",
    )
    entries = LedgerEntry.objects.filter(target_id=str(issued.channel.pk)).values_list("data", flat=True)
    assert "zzsecret" not in json.dumps(list(entries))
    assert channel_secrets(issued.channel) == {"url": "https://hooks.slack.com/services/T1/B2/zzsecret"}


def test_a_copied_ciphertext_does_not_open_on_another_row(org):
    first = make_channel(org, kind="slack", name="A", url="https://hooks.slack.com/a").channel
    second = make_channel(org, kind="slack", name="B", url="https://hooks.slack.com/b").channel
    Channel.objects.filter(pk=second.pk).update(secrets_encrypted=first.secrets_encrypted)
    second.refresh_from_db()
    with pytest.raises(DecryptionError):
        channel_secrets(second)


def test_attaching_moves_a_service_between_policies(org, users, service, actor_as):
    first = make_policy(org, step(("user", users["operator"])), name="First", services=[service])
    second = make_policy(org, step(("user", users["manager"])), name="Second", services=[service])
    assert ServiceEscalation.objects.get(service=service).policy == second
    assert not ServiceEscalation.objects.filter(policy=first).exists()


def test_verification_codes_are_rate_limited_and_renewed(actor_as, users, org):
    issued = contact_services.contact_method_add(
        actor=actor_as("operator"), user=users["operator"], kind="email", address="a@example.test"
    )
    contact = contact_services.contact_method_send_verification(
        actor=actor_as("operator"), contact=issued.contact
    )
    first = verification_code(contact)
    with pytest.raises(ValidationError, match="less than a minute"):
        contact_services.contact_method_send_verification(actor=actor_as("operator"), contact=contact)
    ContactMethod.objects.filter(pk=contact.pk).update(
        verification_sent_at=timezone.now() - timezone.timedelta(minutes=2)
    )
    old_nonce = contact.verification_nonce
    contact = contact_services.contact_method_send_verification(actor=actor_as("operator"), contact=contact)
    assert contact.verification_nonce != old_nonce
    with pytest.raises(ValidationError):
        contact_services.contact_method_verify(actor=actor_as("operator"), contact=contact, code=first)


def test_only_the_owner_changes_contact_methods(actor_as, users):
    with pytest.raises(PermissionDenied):
        contact_services.contact_method_add(
            actor=actor_as("admin"), user=users["operator"], kind="email", address="x@example.test"
        )


def test_personal_changes_go_on_the_platform_chain_masked(actor_as, users):
    contact_services.contact_method_add(
        actor=actor_as("operator"), user=users["operator"], kind="sms", address="+4915112345678"
    )
    entry = LedgerEntry.objects.get(verb="contact_method.added")
    assert entry.organization_id is None
    assert entry.data["address"] == "+49…5678"


# --- admin --------------------------------------------------------------------------------------


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


# --- demo seed ----------------------------------------------------------------------------------


def test_seed_demo_sets_up_paging_idempotently(monkeypatch):
    monkeypatch.setenv("DEMO_WEBHOOK_URL", "https://requestbin.example.com/demo")
    for _ in range(2):
        call_command("seed_demo", stdout=io.StringIO())
    for org in Organization.objects.all():
        channel = Channel.objects.get(organization=org, name="Ops webhook")
        assert channel_secrets(channel)["url"] == "https://requestbin.example.com/demo"
        schedule = Schedule.objects.get(organization=org, name="Primary on-call")
        assert schedule.layers.count() == 2
        policy = EscalationPolicy.objects.get(organization=org, name="Default paging")
        first = policy.steps.get(position=0)
        assert {t.kind for t in first.targets.all()} == {"schedule", "channel"}
        services = Service.objects.filter(organization=org)
        assert services.exists()
        assert set(
            ServiceEscalation.objects.filter(service__in=services).values_list("policy_id", flat=True)
        ) == {policy.pk}
    assert User.objects.filter(username="acme-operator").exists()


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
