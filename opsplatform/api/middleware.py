import io
import logging

from django.conf import settings
from django.core.handlers.asgi import ASGIRequest

from opsplatform.api.problems import (
    DATABASE_UNREACHABLE,
    database_outage_response,
    is_api_path,
    problem_response,
)

logger = logging.getLogger(__name__)

# Methods whose body nobody reads: an undeclared one is left alone.
BODILESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class ApiBodyLimitMiddleware:
    """Refuse an API request whose body is over ``API_MAX_BODY_BYTES`` before anything reads it.

    Sits ahead of the session and CSRF middleware so an oversized body costs no database work.

    A body that declares no length (``Transfer-Encoding: chunked``) is read here, up to the limit,
    and given the length it turned out to have. Without that, DRF (like Django's own parsing)
    takes a missing Content-Length for an empty body: a chunked PATCH was answered 200 having
    changed nothing.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if is_api_path(request.path):
            refusal = self._check_length(request)
            if refusal is not None:
                return refusal
        return self.get_response(request)

    def _check_length(self, request):
        limit = settings.API_MAX_BODY_BYTES
        declared = request.META.get("CONTENT_LENGTH") or ""
        if not declared:
            return self._measure_undeclared(request, limit)
        try:
            length = int(declared)
        except ValueError:
            length = -1
        if length < 0:
            return problem_response(request, 400, detail="The Content-Length header is not a valid length.")
        if length > limit:
            return problem_response(
                request, 413, detail=f"The request body is over the limit of {limit} bytes."
            )
        return None

    @staticmethod
    def _measure_undeclared(request, limit: int):
        if request.method in BODILESS_METHODS:
            return None
        if isinstance(request, ASGIRequest):
            # The ASGI handler has the whole body in hand (a spooled file) before any middleware.
            stream = request._stream
        elif request.META.get("wsgi.input_terminated"):
            # A WSGI server that de-chunked the body says so; any other input may never end.
            stream = request.META["wsgi.input"]
        else:
            return None
        body = stream.read(limit + 1)
        if len(body) > limit:
            return problem_response(
                request, 413, detail=f"The request body is over the limit of {limit} bytes."
            )
        request._stream = io.BytesIO(body)
        request.META["CONTENT_LENGTH"] = str(len(body))
        return None


class DatabaseOutageMiddleware:
    """A view that fails because the database is unreachable answers 503 with Retry-After, with
    DEBUG on as well as off.

    With DEBUG off, ``handler500`` already answers so; with DEBUG on (``make run``) Django renders its
    technical 500 page instead, and an Alertmanager or PagerDuty client of a development instance
    would take a database restart for a bug (the fault drills in tests/faults saw exactly that).
    Views are where the database is used, and their exceptions are what ``process_exception`` sees.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, DATABASE_UNREACHABLE):
            return None
        logger.warning("database unreachable (%s: %s): answered 503", type(exception).__name__, exception)
        return database_outage_response(request)
