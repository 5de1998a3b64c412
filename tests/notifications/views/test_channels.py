"""Channel pages: secrets shown once, validation per kind, and who may manage channels."""

import re

import pytest

from notifications.models import Channel
from tests.ledger import entries
from tests.notifications.factories import make_channel, make_policy, step

pytestmark = pytest.mark.django_db


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
    created = status == 302
    assert Channel.objects.filter(name="Mail").exists() is created
    assert entries("channel.created").exists() is created


@pytest.mark.parametrize("role", ["operator", "manager"])
def test_refused_channel_writes_leave_the_channel_as_it_was(client_as, org, role):
    channel = make_channel(org, kind="webhook", name="Hook", url="https://hooks.example.com/x").channel
    before = Channel.objects.values().get(pk=channel.pk)
    client = client_as(role)
    refused = [
        client.post(
            f"/oncall/channels/{channel.pk}/", {"name": "Renamed", "url": "https://evil.example.com/"}
        ),
        client.post(f"/oncall/channels/{channel.pk}/rotate-secret/"),
        client.post(f"/oncall/channels/{channel.pk}/delete/"),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403]
    assert Channel.objects.values().get(pk=channel.pk) == before  # name, secrets, hint unchanged
    assert list(entries(target=channel).values_list("verb", flat=True)) == ["channel.created"]


def test_channel_delete_refused_while_a_policy_uses_it(client_as, org):
    channel = make_channel(org, kind="email", recipients=["a@example.test"]).channel
    make_policy(org, step(("channel", channel)))
    response = client_as("admin").post(f"/oncall/channels/{channel.pk}/delete/", follow=True)
    assert "Escalation policies notify this channel" in response.content.decode()
    assert Channel.objects.filter(pk=channel.pk).exists()
