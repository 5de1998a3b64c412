"""The ASGI edge keeps at most the body limit plus one byte of a request, however much is sent."""

import asyncio

from opsplatform.core.asgi_body import CappedBody

MIB = 1024 * 1024


class Recorder:
    """An ASGI app that records every message it receives, then answers 204."""

    def __init__(self):
        self.messages = []

    async def __call__(self, scope, receive, send):
        self.messages.append(await receive())
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def run(app, chunks):
    incoming = [{"type": "http.request", "body": chunk, "more_body": True} for chunk in chunks]
    incoming.append({"type": "http.request", "body": b"", "more_body": False})
    sent = []

    async def receive():
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    asyncio.run(app({"type": "http", "method": "POST", "path": "/api/v1/services/"}, receive, send))
    return incoming, sent


def test_a_huge_chunked_body_reaches_the_app_cut_to_the_limit_plus_one(settings):
    settings.API_MAX_BODY_BYTES = 1000
    recorder = Recorder()

    left, sent = run(CappedBody(recorder), [b"x" * MIB] * 20)

    # All 20 MiB were drained from the client, and the app saw one message of 1,001 bytes: enough
    # to know it is too large (the API answers 413), never the whole of it.
    assert left == []
    assert recorder.messages == [{"type": "http.request", "body": b"x" * 1001, "more_body": False}]
    assert sent[0]["status"] == 204


def test_a_body_within_the_limit_arrives_whole(settings):
    settings.API_MAX_BODY_BYTES = 1000
    recorder = Recorder()

    run(CappedBody(recorder), [b"ab", b"cd", b"e"])

    assert recorder.messages == [{"type": "http.request", "body": b"abcde", "more_body": False}]


def test_a_client_gone_before_the_end_gets_nothing_run():
    recorder = Recorder()
    sent = []

    async def receive():
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    asyncio.run(CappedBody(recorder)({"type": "http", "method": "POST", "path": "/"}, receive, send))

    assert recorder.messages == []
    assert sent == []
