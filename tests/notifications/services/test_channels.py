"""Channel services: secrets sealed per row and never in the ledger."""

import json

import pytest

from audit.models import LedgerEntry
from notifications.models import Channel
from notifications.selectors import channel_secrets
from notifications.services import channels as channel_services
from opsplatform.core.crypto import DecryptionError
from tests.notifications.factories import make_channel

pytestmark = pytest.mark.django_db


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
