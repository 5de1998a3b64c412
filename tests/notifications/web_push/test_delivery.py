"""Pages reach a browser through its push service, via the outbox like every other medium: the
payload encrypted for the subscription, the VAPID token checked, TTL and urgency set; failures are
retried; a subscription the push service no longer knows (404/410) is removed."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from notifications.delivery import run_delivery_tick
from notifications.escalation import run_escalation_tick
from notifications.models import (
    ContactKind,
    ContactMethod,
    Notification,
    NotificationRule,
    NotificationStatus,
)
from notifications.services.web_push import web_push_subscribe
from notifications.web_push import vapid
from opsplatform.core.actors import Actor
from tests.ledger import entries
from tests.notifications.factories import make_policy, step
from tests.notifications.web_push.push_service import push_service

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_loopback", "fast_retries")]


@pytest.fixture
def pushes():
    with push_service() as service:
        yield service


@pytest.fixture
def phone(users, pushes):
    sub = pushes.subscription("phone")
    operator = users["operator"]
    return web_push_subscribe(
        actor=Actor.for_member(operator, None),
        user=operator,
        endpoint=sub["endpoint"],
        p256dh=sub["keys"]["p256dh"],
        auth=sub["keys"]["auth"],
        label="Pixel",
    )


@pytest.fixture
def paged(org, service, users, phone):
    make_policy(org, step(("user", users["operator"])), services=[service])


def page(open_incident, now=None):
    incident = open_incident()
    now = now or timezone.now()
    run_escalation_tick(now=now)
    run_delivery_tick(now=now)
    return incident, now


def test_subscribing_stores_a_verified_contact_with_sealed_keys_and_a_rule(phone, users):
    assert phone.kind == ContactKind.WEB_PUSH and phone.is_verified
    assert "p256dh" not in phone.secret_encrypted
    assert NotificationRule.objects.get(contact_method=phone).delay_minutes == 0
    assert entries("contact_method.added", target=phone).count() == 1


def test_a_page_arrives_encrypted_with_a_valid_vapid_token(paged, open_incident, pushes, phone):
    incident, _ = page(open_incident)

    [pushed] = pushes.received
    assert pushed.problems == []
    assert pushed.payload["incident_id"] == incident.pk
    assert pushed.payload["title"] == f"[SEV3] #{incident.pk} Checkout errors above 5%"
    assert pushed.payload["url"].endswith(f"/incidents/{incident.pk}/")
    assert "/ack/" in pushed.payload["ack_url"]
    assert incident.title.encode() not in pushed.body  # encrypted on the wire
    assert pushed.vapid_key == vapid.public_key()
    assert pushed.vapid_claims["sub"] == settings.WEB_PUSH_SUBJECT
    assert pushed.headers["ttl"] == str(settings.WEB_PUSH_TTL_SECONDS) and pushed.headers["urgency"] == "high"
    row = Notification.objects.get(incident=incident, contact_method=phone)
    assert (row.status, row.medium, row.attempts) == (NotificationStatus.SENT, "web_push", 1)


def test_a_failing_push_service_is_retried(paged, open_incident, pushes, phone):
    pushes.respond_with(503)
    incident, _ = page(open_incident)
    row = Notification.objects.get(incident=incident, contact_method=phone)
    assert row.status == NotificationStatus.FAILED and row.next_attempt_at is not None

    run_delivery_tick(now=row.next_attempt_at + timedelta(seconds=1))

    row.refresh_from_db()
    assert (row.status, row.attempts) == (NotificationStatus.SENT, 2)
    assert len(pushes.received) == 2 and pushes.received[1].problems == []


@pytest.mark.parametrize("status", [404, 410])
def test_a_gone_subscription_is_removed_and_not_retried(paged, open_incident, pushes, phone, status):
    pushes.respond_with(status)
    incident, _ = page(open_incident)

    row = Notification.objects.get(incident=incident, medium="web_push")
    assert row.status == NotificationStatus.DEAD and row.last_status_code == status
    assert not ContactMethod.objects.filter(pk=phone.pk).exists()
    assert not NotificationRule.objects.filter(user=phone.user).exists()
    gone = entries("contact_method.subscription_gone").get()
    assert gone.data["status_code"] == status and gone.target_id == str(phone.pk)


def test_subscribing_again_refreshes_keys_without_a_second_contact(phone, users, pushes):
    sub = pushes.subscription("phone")
    again = web_push_subscribe(
        actor=Actor.for_member(users["operator"], None),
        user=users["operator"],
        endpoint=phone.address,
        p256dh=sub["keys"]["p256dh"],
        auth=sub["keys"]["auth"],
    )
    assert again.pk == phone.pk
    assert ContactMethod.objects.filter(user=users["operator"], kind="web_push").count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"p256dh": "short"}, "p256dh"),
        ({"auth": "AAAA"}, "auth"),
        ({"endpoint": "ftp://x.test/"}, "endpoint"),
    ],
)
def test_malformed_subscriptions_are_refused(users, pushes, change, field):
    from django.core.exceptions import ValidationError

    sub = pushes.subscription()
    values = {"endpoint": sub["endpoint"], **sub["keys"], **change}
    with pytest.raises(ValidationError) as refused:
        web_push_subscribe(actor=Actor.for_member(users["operator"], None), user=users["operator"], **values)
    assert field in refused.value.message_dict
    assert not ContactMethod.objects.filter(kind="web_push").exists()
