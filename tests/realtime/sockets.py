"""Opening the organization socket in tests, and reading how it ended."""

from channels.testing import WebsocketCommunicator
from django.conf import settings

QUIET = 0.5  # seconds a socket must stay silent to count as "received nothing"
PATIENCE = 5


def organization_socket(
    application, session_key: str | None = None, query: str = ""
) -> WebsocketCommunicator:
    headers = [(b"origin", b"http://localhost"), (b"host", b"localhost")]
    if session_key:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={session_key}".encode()))
    path = "/ws/organization/" + (f"?{query}" if query else "")
    return WebsocketCommunicator(application, path, headers=headers)


async def connected(communicator) -> WebsocketCommunicator:
    accepted, _ = await communicator.connect(timeout=PATIENCE)
    assert accepted
    return communicator


async def closed_with(communicator) -> int:
    accepted, _ = await communicator.connect(timeout=PATIENCE)
    assert accepted  # accepted, then closed: the browser gets the code, not a bare handshake failure
    return await close_code(communicator)


async def close_code(communicator) -> int:
    """The code of the close the server sends next (fails on any other message first)."""
    message = await communicator.receive_output(timeout=PATIENCE)
    assert message["type"] == "websocket.close", message
    return message["code"]
