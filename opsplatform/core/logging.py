"""Structured logging support: a request id on every line, and secrets never written out."""

import atexit
import logging
import logging.handlers
import queue
import re
import uuid
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

_request_id: ContextVar[str] = ContextVar("request_id", default="-")

# Bearer values; our own secret formats (API tokens, integration keys, signing secrets, calendar
# feeds); password-ish key=value pairs; and the URL paths whose last segment is a credential
# (one-click acknowledge links, invitations, calendar feeds), which reach the access log.
_SECRET_PATTERNS = [
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"(opk_|opi_|whsec_|ocal_)[A-Za-z0-9_-]{8,}"),
    re.compile(
        r"(?i)((?:password|passwd|secret|token|api[_-]?key|routing_key|authorization)[\"']?\s*[:=]\s*[\"']?)"
        r"[^\s,\"'&}]+"
    ),
    re.compile(r"(/(?:ack|invitations|oncall/calendar)/)[^/\s?\"']+"),
]


def current_request_id() -> str:
    return _request_id.get()


def redact(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + "[redacted]", text)
    return text


class RequestIdMiddleware:
    """Take the proxy's X-Request-ID when it is sane, else make one; echo it on the response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if re.fullmatch(r"[A-Za-z0-9._-]{8,64}", incoming) else uuid.uuid4().hex
        token = _request_id.set(rid)
        request.request_id = rid
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response["X-Request-ID"] = rid
        return response


class RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.request_id = _request_id.get()
        return True


class RedactSecretsFilter(logging.Filter):
    def filter(self, record):
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class RedactingJsonFormatter(JsonFormatter):
    """JSON lines with secrets removed from the whole line: extra fields too (Django's request log
    adds the request, whose repr carries its path, to every record)."""

    def format(self, record):
        return redact(super().format(record))


JSON_FORMAT = {
    "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
    "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
}


class BackgroundHandler(logging.handlers.QueueHandler):
    """JSON lines on stderr like the console handler, formatted, redacted and written by a thread of
    their own: the request that logs (the access log's one line per request) pays a queue put, not
    the formatting, the redaction and a write to a pipe that may be slow to drain."""

    def __init__(self):
        records: queue.SimpleQueue = queue.SimpleQueue()
        super().__init__(records)
        target = logging.StreamHandler()
        target.setFormatter(RedactingJsonFormatter(**JSON_FORMAT))
        target.addFilter(RedactSecretsFilter())
        self.listener = logging.handlers.QueueListener(records, target)
        self.listener.start()
        atexit.register(self.listener.stop)

    def prepare(self, record):
        # The record as it is: the listener formats it (the request id was set by this handler's
        # filter, in the request's own context).
        return record


def logging_config(level: str, *, access_log: bool = True) -> dict:
    """The ``LOGGING`` setting: JSON lines on stderr, each with its request id, secrets redacted.

    ``access_log``: the ASGI server's line per request, written off the request's path
    (``BackgroundHandler``); off, the server sees no handler and does not even build the line."""

    def through_console():
        return {"handlers": ["console"], "propagate": False}

    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": "opsplatform.core.logging.RequestIdFilter"},
            "redact": {"()": "opsplatform.core.logging.RedactSecretsFilter"},
        },
        "formatters": {"json": {"()": "opsplatform.core.logging.RedactingJsonFormatter", **JSON_FORMAT}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["request_id", "redact"],
            },
            "background": {"()": "opsplatform.core.logging.BackgroundHandler", "filters": ["request_id"]},
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            "axes": {"level": "WARNING"},
            # The ASGI server's own handlers would write request paths (which can carry a key or a
            # token) unredacted: its loggers go through ours instead. Levels stay the server's choice.
            "uvicorn": through_console(),
            "uvicorn.error": through_console(),
            # uvicorn writes an access line when this logger has a handler (whatever its options say).
            "uvicorn.access": {"handlers": ["background"] if access_log else [], "propagate": False},
        },
    }
