"""E-mail subscribers against a real SMTP server (aiosmtpd on loopback): double opt-in, an update
mailed once per subscriber with an unsubscribe link, one-click unsubscribe, throttling, retries."""

import email
import re
from email import policy

import pytest
from django.test import Client, override_settings

from monitoring.statuspages import services
from monitoring.statuspages.delivery import run_delivery_tick
from monitoring.statuspages.models import StatusDelivery, StatusSubscriber
from tests.ledger import verbs
from tests.notifications.peers import free_port

pytestmark = pytest.mark.django_db

LINK = re.compile(r"http://status\.test(/status/acme/(confirm|unsubscribe)/[^/\s]+/)")


def parsed(envelope):
    return email.message_from_bytes(envelope.content, policy=policy.default)


def links(message) -> dict[str, str]:
    return {kind: path for path, kind in LINK.findall(message.get_content())}


@pytest.fixture
def anonymous():
    return Client()


def subscribe(client, address="reader@example.com"):
    return client.post("/status/acme/subscribe/", {"email": address})


def test_double_opt_in_then_one_mail_per_update_then_one_click_unsubscribe(anonymous, page, smtp, actor_as):
    response = subscribe(anonymous)
    assert response.status_code == 202
    assert "Check your inbox" in response.content.decode()
    subscriber = StatusSubscriber.objects.get()
    assert (subscriber.email, subscriber.confirmed_at) == ("reader@example.com", None)

    assert run_delivery_tick() == 1
    [confirm_mail] = smtp
    assert confirm_mail.rcpt_tos == ["reader@example.com"]
    message = parsed(confirm_mail)
    assert message["Subject"] == "Confirm your subscription to Acme status"
    found = links(message)
    assert set(found) == {"confirm", "unsubscribe"}
    assert message["List-Unsubscribe"].strip() == f"<http://status.test{found['unsubscribe']}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert StatusDelivery.objects.get().status == "sent"

    # Opening the link (as a mail scanner would) confirms nothing; the button's POST does.
    assert anonymous.get(found["confirm"]).status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.confirmed_at is None
    assert anonymous.post(found["confirm"]).status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.active
    assert verbs(subscriber) == ["status_subscriber.requested", "status_subscriber.confirmed"]

    notice = services.notice_open(
        actor=actor_as("operator"),
        page=page,
        title="Login failures",
        body="Some sign-ins fail; we are on it.",
    )
    assert run_delivery_tick() == 1
    assert run_delivery_tick() == 0  # sent once
    update_mail = parsed(smtp[1])
    assert update_mail["Subject"] == "[Acme status] Login failures: Investigating"
    assert "Some sign-ins fail; we are on it." in update_mail.get_content()
    assert f"#notice-{notice.pk}" in update_mail.get_content()
    unsubscribe = links(update_mail)["unsubscribe"]
    assert (
        update_mail["X-OpsPlatform-Delivery"].strip()
        == StatusDelivery.objects.get(kind="update").idempotency_key
    )

    # RFC 8058 one-click: the mail client POSTs, no page in between.
    response = anonymous.post(unsubscribe, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.unsubscribed_at is not None and not subscriber.active
    services.notice_update(actor=actor_as("operator"), notice=notice, status="resolved", body="All good.")
    assert run_delivery_tick() == 0
    assert len(smtp) == 2


def test_subscribing_again_says_the_same_and_mails_nothing_new_once_confirmed(anonymous, page, smtp):
    subscribe(anonymous)
    run_delivery_tick()
    anonymous.post(links(parsed(smtp[0]))["confirm"])
    response = subscribe(anonymous, "reader@EXAMPLE.com")
    assert response.status_code == 202
    assert StatusSubscriber.objects.count() == 1
    assert run_delivery_tick() == 0


def test_a_new_confirmation_request_voids_the_older_link(anonymous, page, smtp):
    subscribe(anonymous)
    run_delivery_tick()
    subscribe(anonymous)
    run_delivery_tick()
    first, second = (links(parsed(m))["confirm"] for m in smtp)
    assert first != second
    assert anonymous.post(first).status_code == 400
    assert anonymous.post(second).status_code == 200
    assert StatusSubscriber.objects.get().active


def test_tampered_links_are_refused(anonymous, page, smtp):
    subscribe(anonymous)
    run_delivery_tick()
    found = links(parsed(smtp[0]))
    assert anonymous.post(found["confirm"][:-3] + "xx/").status_code == 400
    assert anonymous.post("/status/acme/unsubscribe/abc/").status_code == 400
    assert not StatusSubscriber.objects.get().active


def test_bad_address_is_a_form_error(anonymous, page):
    response = subscribe(anonymous, "not-an-address")
    assert response.status_code == 400
    assert "Enter a valid email address." in response.content.decode()
    assert not StatusSubscriber.objects.exists()


def test_the_form_is_throttled_per_client_and_per_address(anonymous, page, settings):
    settings.STATUS_SUBSCRIBE_PER_IP_HOUR = 3
    settings.STATUS_SUBSCRIBE_PER_ADDRESS_HOUR = 2
    assert subscribe(anonymous, "a@example.com").status_code == 202
    assert subscribe(anonymous, "a@example.com").status_code == 202
    refused = subscribe(anonymous, "a@example.com")
    assert refused.status_code == 429
    assert "several times already" in refused.content.decode()
    assert subscribe(anonymous, "b@example.com").status_code == 202
    flooded = subscribe(anonymous, "c@example.com")
    assert flooded.status_code == 429
    assert "Too many requests" in flooded.content.decode()
    assert sorted(StatusSubscriber.objects.values_list("email", flat=True)) == [
        "a@example.com",
        "b@example.com",
    ]
    assert StatusSubscriber.objects.get(email="a@example.com").confirm_round == 2


def test_disabled_subscriptions_refuse(anonymous, page, actor_as):
    services.page_update(actor=actor_as("manager"), page=page, subscriptions_enabled=False)
    assert subscribe(anonymous).status_code == 400
    assert "Get updates by e-mail" not in anonymous.get("/status/acme/").content.decode()


def test_a_mail_server_outage_retries_then_delivers(anonymous, page, smtp, settings):
    subscribe(anonymous)
    dead_port = free_port()
    with override_settings(EMAIL_PORT=dead_port):
        assert run_delivery_tick() == 1
    delivery = StatusDelivery.objects.get()
    assert delivery.status == "failed" and delivery.attempts == 1 and delivery.last_error
    assert run_delivery_tick() == 0  # not due yet
    StatusDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=delivery.created_at)
    assert run_delivery_tick() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("sent", 2)
    assert len(smtp) == 1
