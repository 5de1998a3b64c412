"""The incident socket's path id is untrusted input: a number beyond any row is simply not found."""

import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings

from opsplatform.realtime.consumers import CLOSE_NOT_FOUND

pytestmark = pytest.mark.django_db(transaction=True)
PATIENCE = 5


@pytest.mark.parametrize("incident_id", ["99999999999999999999", "0"])
async def test_out_of_range_incident_id_is_not_found(application, session_of, users, incident_id):
    cookie = f"{settings.SESSION_COOKIE_NAME}={await session_of(users['viewer'])}"
    socket = WebsocketCommunicator(
        application,
        f"/ws/incidents/{incident_id}/",
        headers=[(b"origin", b"http://localhost"), (b"host", b"localhost"), (b"cookie", cookie.encode())],
    )

    accepted, _ = await socket.connect(timeout=PATIENCE)

    assert accepted
    assert await socket.receive_output(timeout=PATIENCE) == {
        "type": "websocket.close",
        "code": CLOSE_NOT_FOUND,
    }
