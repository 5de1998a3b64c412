"""The ASGI handler of the alert ingestion endpoints: each request runs the way a WSGI server runs it.

Ingestion is key-authenticated machine traffic and the hottest path of an alert storm. Django's own
ASGI handler suits pages (async middleware, disconnect detection) but spends a lot on a sync view:
a new thread per request and four or five hops between it and the event loop (the request-started
signal, the middleware chain, back to the loop and out again for the view, the response's close).
Here the body is read on the event loop, then the request-started signal, the sync middleware chain
(``settings.INGEST_MIDDLEWARE``: no session, user, OTP, messages, CSRF or login throttling), the
view and the response's close (request-finished: the database connection goes back to the pool)
run in a single call on a fixed pool of worker threads, and the response is written on the loop.

The pool's size bounds the requests a process works on at once; the rest wait in its queue, which
is back-pressure rather than a growing number of threads and database connections. A client that
goes away after sending its request does not cancel it: an accepted alert is committed either way
(and a retry is deduplicated), which is what ingestion wants.
"""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core import signals
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.base import BaseHandler
from django.urls import set_script_prefix

from opsplatform.core.asgi_body import read_capped_body


class IngestionHandler(ASGIHandler):
    def __init__(self, *, threads: int, middleware: list[str]):
        BaseHandler.__init__(self)
        # BaseHandler reads settings.MIDDLEWARE; swap it only while this handler builds its chain.
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = middleware
        try:
            self.load_middleware(is_async=False)
        finally:
            settings.MIDDLEWARE = full
        executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="ingest")
        self._respond_in_thread = sync_to_async(self._respond, thread_sensitive=False, executor=executor)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"IngestionHandler serves http only, not {scope['type']}")
        body = await read_capped_body(receive, limit=settings.API_MAX_BODY_BYTES)
        if body is None:
            return  # the client went away before its request was complete: nothing was accepted
        response = await self._respond_in_thread(scope, body)
        await self.send_response(response, send)

    def _respond(self, scope, body: bytes):
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, response = self.create_request(scope, io.BytesIO(body))
        if request is not None:
            response = self.get_response(request)
        response._handler_class = self.__class__
        # Sends request_finished in this thread, where the request's database connection lives.
        response.close()
        return response
