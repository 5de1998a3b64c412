"""A Django ASGI handler that runs each request the way a WSGI server runs it: the alert ingestion
endpoints (lean middleware) and the REST API (the full middleware stack).

Ingestion is key-authenticated machine traffic and the hottest path of an alert storm. Django's own
ASGI handler suits pages (async middleware, disconnect detection) but spends a lot on a sync view:
a new thread per request and four or five hops between it and the event loop (the request-started
signal, the middleware chain, back to the loop and out again for the view, the response's close).
Here the body is read on the event loop, then the request-started signal, the sync middleware chain
(``settings.INGEST_MIDDLEWARE``: no session, user, OTP, messages, CSRF or login throttling), the
view and the response's close (request-finished: the database connection goes back to the pool)
run in a single call on a fixed pool of worker threads, and the response is written on the loop.

The REST API goes through a second instance with every middleware of ``settings.MIDDLEWARE``
(sessions, CSRF, authentication, the 2FA gate, request ids, body limits, the outage answer): the
same chain Django's handler runs, only in one hop instead of four or five (about 10 ms a request
on a loaded machine, docs/benchmarks.md). A streaming response is closed after it is sent, as
Django's handler does; the API has none today.

The pool's size bounds the requests a process works on at once; the rest wait in its queue, which
is back-pressure rather than a growing number of threads and database connections. A client that
goes away after sending its request does not cancel it: an accepted alert is committed either way
(and a retry is deduplicated), which is what ingestion wants.
"""

from __future__ import annotations

import asyncio
import contextvars
import io
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.core import signals
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.base import BaseHandler
from django.urls import set_script_prefix

from opsplatform.core.asgi_body import read_capped_body
from opsplatform.core.gc_warmup import request_served


class PooledHandler(ASGIHandler):
    def __init__(self, *, threads: int, middleware: list[str], name: str = "ingest"):
        BaseHandler.__init__(self)
        # BaseHandler reads settings.MIDDLEWARE; swap it only while this handler builds its chain.
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = middleware
        try:
            self.load_middleware(is_async=False)
        finally:
            settings.MIDDLEWARE = full
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=name)

    async def _in_thread(self, function, *args):
        """``function(*args)`` on the pool, in a copy of the caller's context, as ``sync_to_async``
        runs it, without its bookkeeping (a few percent of an ingestion request's CPU in a storm):
        these threads never call back into the event loop."""
        context = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(self._executor, context.run, function, *args)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"IngestionHandler serves http only, not {scope['type']}")
        body = await read_capped_body(receive, limit=settings.API_MAX_BODY_BYTES)
        if body is None:
            return  # the client went away before its request was complete: nothing was accepted
        response = await self._in_thread(self._respond, scope, body)
        try:
            await self.send_response(response, send)
        finally:
            if response.streaming:
                # Its content is produced while it is sent: closing it earlier would cut it short.
                await self._in_thread(_close, response)

    def _respond(self, scope, body: bytes):
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, response = self.create_request(scope, io.BytesIO(body))
        if request is not None:
            response = self.get_response(request)
        response._handler_class = self.__class__
        if not response.streaming:
            # Sends request_finished in this thread, where the request's database connection lives.
            response.close()
        request_served()
        return response


def _close(response):
    response.close()


# The name it had when ingestion was its only user.
IngestionHandler = PooledHandler
