"""The one-click acknowledge link: confirm first, then acknowledge; refused for viewers, tampered or
expired links."""

from datetime import timedelta

import pytest

from notifications.ack_links import ack_token
from tests.ledger import verbs

pytestmark = pytest.mark.django_db


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
    assert incident.acknowledged_by is None and incident.next_escalation_at is not None
    assert "incident.acknowledged" not in verbs(incident)


def test_tampered_or_expired_ack_links_are_refused(client, users, open_incident, settings):
    incident = open_incident()
    token = ack_token(incident_id=incident.pk, user_id=users["operator"].pk, notification_id=1)
    assert client.get(f"/ack/{token[:-2]}xx/").status_code == 410
    settings.ACK_LINK_MAX_AGE = timedelta(seconds=-1)
    assert client.post(f"/ack/{token}/").status_code == 410
    incident.refresh_from_db()
    assert incident.status == "triggered"
