"""The browser's side of web push: subscribing and unsubscribing from the settings page's script,
acknowledging from the notification itself, and the web app's manifest and service worker."""

import json

import pytest

from incidents.models import Status
from notifications.ack_links import ack_token
from notifications.models import ContactMethod
from tests.ledger import entries
from tests.notifications.web_push.push_service import push_service

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_loopback")]

SUBSCRIBE = "/settings/notifications/push/subscribe/"
UNSUBSCRIBE = "/settings/notifications/push/unsubscribe/"


@pytest.fixture
def subscription():
    with push_service() as service:
        yield service.subscription()


def post_json(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


def test_the_settings_page_offers_push_with_the_deployment_key(client_as):
    from notifications.web_push import vapid

    page = client_as("viewer").get("/settings/notifications/")
    assert page.status_code == 200 and f'data-push-key="{vapid.public_key()}"'.encode() in page.content
    # Typed in by hand it cannot be: the form does not offer it.
    assert b'value="web_push"' not in page.content


def test_subscribe_then_unsubscribe(client_as, users, subscription):
    client = client_as("operator")

    created = post_json(client, SUBSCRIBE, {**subscription, "label": "Laptop"})

    assert created.status_code == 201
    contact = ContactMethod.objects.get(user=users["operator"], kind="web_push")
    assert contact.address == subscription["endpoint"] and contact.label == "Laptop"
    removed = post_json(client, UNSUBSCRIBE, {"endpoint": subscription["endpoint"]})
    assert removed.status_code == 200 and removed.json() == {"removed": True}
    assert not ContactMethod.objects.filter(pk=contact.pk).exists()
    assert entries("contact_method.removed", target=contact).count() == 1


@pytest.mark.parametrize("body", ["not json", "[]", json.dumps({"endpoint": "https://push.example.test/x"})])
def test_bad_subscriptions_are_a_400_not_a_500(client_as, body):
    response = client_as("operator").post(SUBSCRIBE, body, content_type="application/json")
    assert response.status_code == 400 and "errors" in response.json()
    assert not ContactMethod.objects.exists()


def test_signed_out_browsers_cannot_subscribe(client, subscription):
    assert post_json(client, SUBSCRIBE, subscription).status_code == 302
    assert not ContactMethod.objects.exists()


@pytest.fixture
def incident(org, actor_as):
    from incidents.services import incident_create

    return incident_create(actor=actor_as("operator"), title="Queue backlog")


def test_acknowledge_from_the_notification(client, users, incident):
    token = ack_token(incident_id=incident.pk, user_id=users["operator"].pk, notification_id=1)

    response = client.post(f"/ack/{token}/push/")  # no session, no CSRF token: the link is the credential

    assert response.status_code == 200 and response.json()["status"] == Status.ACKNOWLEDGED
    incident.refresh_from_db()
    assert incident.status == Status.ACKNOWLEDGED
    assert (
        entries("incident.acknowledged", target=incident).get().actor_id.endswith(str(users["operator"].pk))
    )


def test_acknowledge_refuses_links_naming_nobody_and_forged_ones(client, incident):
    shared = ack_token(incident_id=incident.pk, user_id=None, notification_id=1)
    assert client.post(f"/ack/{shared}/push/").status_code == 410
    assert client.post("/ack/forged/push/").status_code == 410
    assert client.get(f"/ack/{shared}/push/").status_code == 405
    incident.refresh_from_db()
    assert incident.status == Status.TRIGGERED


def test_manifest_and_service_worker_are_served(client):
    manifest = client.get("/manifest.webmanifest")
    assert manifest.status_code == 200 and manifest.json()["display"] == "standalone"
    worker = client.get("/sw.js")
    assert worker.status_code == 200 and worker["Content-Type"].startswith("text/javascript")
    assert worker["Service-Worker-Allowed"] == "/" and b"__CACHE_VERSION__" not in worker.content
    assert client.get("/offline/").status_code == 200
