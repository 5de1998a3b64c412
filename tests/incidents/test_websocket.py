"""One incident's websocket: its organization's members hear its changes; anyone else finds nothing."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings

from incidents.services import incident_acknowledge
from opsplatform.realtime.consumers import CLOSE_NOT_FOUND

pytestmark = pytest.mark.django_db(transaction=True)
PATIENCE = 5


def incident_socket(application, session_key, incident_id):
    headers = [
        (b"origin", b"http://localhost"),
        (b"host", b"localhost"),
        (b"cookie", f"{settings.SESSION_COOKIE_NAME}={session_key}".encode()),
    ]
    return WebsocketCommunicator(application, f"/ws/incidents/{incident_id}/", headers=headers)


async def test_member_receives_changes_of_the_incident(application, session_of, users, incident, actor_as):
    socket = incident_socket(application, await session_of(users["viewer"]), incident.pk)
    accepted, _ = await socket.connect(timeout=PATIENCE)
    assert accepted
    operator = await database_sync_to_async(actor_as)("operator")
    await database_sync_to_async(incident_acknowledge)(actor=operator, incident=incident)
    event = await socket.receive_json_from(timeout=PATIENCE)
    assert event == {
        "kind": "incident",
        "id": incident.pk,
        "verb": "incident.acknowledged",
        "status": "acknowledged",
    }
    await socket.disconnect()


async def test_outsider_finds_no_such_incident(application, session_of, outsider, incident, actor_as):
    socket = incident_socket(application, await session_of(outsider), incident.pk)
    accepted, _ = await socket.connect(timeout=PATIENCE)
    assert accepted  # accepted, then closed, so the browser sees the code
    message = await socket.receive_output(timeout=PATIENCE)
    assert message == {"type": "websocket.close", "code": CLOSE_NOT_FOUND}


async def test_unknown_incident_is_not_found(application, session_of, users):
    socket = incident_socket(application, await session_of(users["viewer"]), 999_999)
    await socket.connect(timeout=PATIENCE)
    message = await socket.receive_output(timeout=PATIENCE)
    assert message["code"] == CLOSE_NOT_FOUND
