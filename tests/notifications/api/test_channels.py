"""``/api/v1/channels/``: secrets write-only and issued once (never cached), rotation, kinds,
capabilities per role."""

import pytest

from notifications.models import Channel
from notifications.selectors import channel_secrets
from tests.ledger import entries
from tests.notifications.factories import make_channel

PROBLEM = "application/problem+json"

pytestmark = pytest.mark.django_db


def test_channel_secrets_are_write_only(api_as):
    api = api_as("admin")
    created = api.post(
        "/api/v1/channels/",
        {"name": "Hook", "kind": "webhook", "url": "https://hooks.example.com/T/B/verysecret"},
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["signing_secret"].startswith("whsec_")
    assert "url" not in body and "verysecret" not in created.content.decode()
    assert created["Cache-Control"] == "no-store"
    again = api.get(f"/api/v1/channels/{body['id']}/").content.decode()
    assert "verysecret" not in again and "whsec_" not in again
    assert api.get(f"/api/v1/channels/{body['id']}/").json()["secret_hint"] == "https://hooks.example.com/…"


def test_twilio_channel_shape(api_as):
    response = api_as("admin").post(
        "/api/v1/channels/",
        {
            "name": "Pager",
            "kind": "twilio_sms",
            "account_sid": "AC" + "a" * 32,
            "auth_token": "tok-123456",
            "from_number": "+15005550006",
            "recipients": ["+49 151 1234 5678"],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["recipients"] == ["+4915112345678"] and "auth_token" not in body
    assert "tok-123456" not in response.content.decode()


def test_channel_update_keeps_secrets_when_not_given(api_as, org):
    channel = make_channel(org, kind="slack", url="https://hooks.slack.com/services/T/B/abc").channel
    before = Channel.objects.get(pk=channel.pk).secrets_encrypted
    response = api_as("admin").patch(f"/api/v1/channels/{channel.pk}/", {"is_active": False}, format="json")
    assert response.status_code == 200
    channel.refresh_from_db()
    assert channel.secrets_encrypted == before and not channel.is_active


def test_rotate_signing_secret(api_as, org):
    issued = make_channel(org, kind="webhook", url="https://hooks.example.com/x")
    response = api_as("admin").post(f"/api/v1/channels/{issued.channel.pk}/rotate-secret/")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"  # the new secret is shown once
    assert response.json()["signing_secret"] not in ("", issued.signing_secret)
    stored = channel_secrets(Channel.objects.get(pk=issued.channel.pk))
    assert stored["signing_secret"] == response.json()["signing_secret"]


def test_a_channel_can_be_created_inactive(api_as):
    response = api_as("admin").post(
        "/api/v1/channels/",
        {"name": "Mail", "kind": "email", "recipients": ["a@example.test"], "is_active": False},
        format="json",
    )
    assert response.status_code == 201
    assert Channel.objects.get(pk=response.json()["id"]).is_active is False


def test_a_channels_kind_cannot_change(api_as, org):
    issued = make_channel(org, kind="webhook", url="https://hooks.example.com/x")
    response = api_as("admin").patch(
        f"/api/v1/channels/{issued.channel.pk}/", {"kind": "email", "name": "Renamed"}, format="json"
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    channel = Channel.objects.get(pk=issued.channel.pk)
    assert (channel.kind, channel.name) == ("webhook", issued.channel.name)


@pytest.mark.parametrize(("role", "status"), [("operator", 403), ("manager", 403), ("admin", 201)])
def test_channel_create_by_role(api_as, role, status):
    response = api_as(role).post(
        "/api/v1/channels/",
        {"name": "Mail", "kind": "email", "recipients": ["a@example.test"]},
        format="json",
    )
    assert response.status_code == status
    created = status == 201
    assert Channel.objects.filter(name="Mail").exists() is created
    assert entries("channel.created").exists() is created


@pytest.mark.parametrize("role", ["operator", "manager"])
def test_refused_channel_writes_leave_it_as_it_was(api_as, org, role):
    issued = make_channel(org, kind="webhook", name="Hook", url="https://hooks.example.com/x")
    channel = issued.channel
    before = Channel.objects.values().get(pk=channel.pk)
    api = api_as(role)
    patch = {"name": "Renamed", "url": "https://evil.example.com/", "is_active": False}
    assert api.patch(f"/api/v1/channels/{channel.pk}/", patch, format="json").status_code == 403
    rotated = api.post(f"/api/v1/channels/{channel.pk}/rotate-secret/")
    assert rotated.status_code == 403 and "whsec_" not in rotated.content.decode()
    assert api.delete(f"/api/v1/channels/{channel.pk}/").status_code == 403
    assert Channel.objects.values().get(pk=channel.pk) == before
    assert channel_secrets(Channel.objects.get(pk=channel.pk))["signing_secret"] == issued.signing_secret
    assert list(entries(target=channel).values_list("verb", flat=True)) == ["channel.created"]


def test_bad_channel_input_is_a_problem(api_as):
    response = api_as("admin").post(
        "/api/v1/channels/", {"name": "x", "kind": "slack", "url": "http://10.0.0.1/x"}, format="json"
    )
    assert response.status_code == 400 and response["Content-Type"] == PROBLEM
    assert response.json()["errors"][0]["field"] == "url"
