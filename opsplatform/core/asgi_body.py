"""Request bodies at the ASGI edge: never more than the limit (plus one byte) is held.

Django's ASGI handler spools a whole request body before any middleware runs, so a client could
make each request cost as much memory or disk as it cares to send (a chunked body declares no
length to refuse it by). Here the body is read first and kept only up to ``limit + 1`` bytes: the
rest is drained and dropped, and the view still sees that the body was too large and answers 413.
"""

from __future__ import annotations

from django.conf import settings


async def read_capped_body(receive, *, limit: int) -> bytes | None:
    """The body, of which at most ``limit + 1`` bytes are kept; None if the client went away."""
    chunks, kept = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        if chunk and kept <= limit:
            chunks.append(chunk[: limit + 1 - kept])
            kept += len(chunks[-1])
        if not message.get("more_body", False):
            return b"".join(chunks)


class CappedBody:
    """ASGI middleware: the wrapped app receives the (capped) body as one message, then whatever
    else the client sends (a disconnect)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        body = await read_capped_body(receive, limit=settings.API_MAX_BODY_BYTES)
        if body is None:
            return None  # gone before the request was complete: nothing to answer
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)
