"""RFC 9457 ``application/problem+json`` for every error the API returns.

Two entry points share one body shape:

* :func:`exception_handler` is DRF's ``EXCEPTION_HANDLER``: errors raised inside API views.
* ``handler400/403/404/500`` are Django's error handlers (``opsplatform/urls.py``): unknown routes,
  middleware refusals and crashes. Under API paths they answer problem+json, elsewhere the HTML
  error templates.

A body looks like::

    {"type": "https://opsplatform.dev/problems/validation-error", "title": "Invalid request",
     "status": 400, "detail": "name: This field is required.", "instance": "/api/v1/teams/",
     "request_id": "…", "errors": [{"field": "name", "message": "This field is required.",
     "code": "required"}]}

``errors`` is present on validation problems only; nested serializer errors are flattened to dotted
field paths (``steps.0.name``).
"""

import logging
import math
import sys
from http import HTTPStatus

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404, HttpResponse, JsonResponse
from django.template import TemplateDoesNotExist, loader
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import set_rollback

from opsplatform.api.exceptions import Conflict, PayloadTooLarge
from opsplatform.core.durable import DATABASE_UNREACHABLE
from opsplatform.core.logging import current_request_id

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_BASE = "https://opsplatform.dev/problems/"
# Paths whose errors are answered as problem+json: the REST API and the alert-ingestion endpoints
# that mimic other vendors' APIs (PagerDuty Events v2 lives under /v2/).
API_PATH_PREFIXES = ("/api/", "/v2/")


class ProblemType:
    VALIDATION = "validation-error"
    MALFORMED = "malformed-request"
    NOT_AUTHENTICATED = "not-authenticated"
    PERMISSION_DENIED = "permission-denied"
    NOT_FOUND = "not-found"
    METHOD_NOT_ALLOWED = "method-not-allowed"
    NOT_ACCEPTABLE = "not-acceptable"
    CONFLICT = "conflict"
    PAYLOAD_TOO_LARGE = "payload-too-large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported-media-type"
    RATE_LIMITED = "rate-limited"
    SERVER_ERROR = "server-error"


_TYPE_BY_STATUS = {
    400: ProblemType.MALFORMED,
    401: ProblemType.NOT_AUTHENTICATED,
    403: ProblemType.PERMISSION_DENIED,
    404: ProblemType.NOT_FOUND,
    405: ProblemType.METHOD_NOT_ALLOWED,
    406: ProblemType.NOT_ACCEPTABLE,
    409: ProblemType.CONFLICT,
    413: ProblemType.PAYLOAD_TOO_LARGE,
    415: ProblemType.UNSUPPORTED_MEDIA_TYPE,
    429: ProblemType.RATE_LIMITED,
    500: ProblemType.SERVER_ERROR,
}

_TITLES = {
    ProblemType.VALIDATION: "Invalid request",
    ProblemType.MALFORMED: "Malformed request",
    ProblemType.NOT_AUTHENTICATED: "Authentication required",
    ProblemType.PERMISSION_DENIED: "Permission denied",
    ProblemType.NOT_FOUND: "Not found",
    ProblemType.METHOD_NOT_ALLOWED: "Method not allowed",
    ProblemType.NOT_ACCEPTABLE: "Not acceptable",
    ProblemType.CONFLICT: "Conflict",
    ProblemType.PAYLOAD_TOO_LARGE: "Request body too large",
    ProblemType.UNSUPPORTED_MEDIA_TYPE: "Unsupported media type",
    ProblemType.RATE_LIMITED: "Too many requests",
    ProblemType.SERVER_ERROR: "Internal server error",
}


class ProblemJSONRenderer(JSONRenderer):
    media_type = PROBLEM_CONTENT_TYPE
    format = "problem+json"


def is_api_path(path: str) -> bool:
    return path == "/api" or path.startswith(API_PATH_PREFIXES)


def problem_body(
    status: int,
    *,
    detail: str = "",
    problem_type: str | None = None,
    title: str | None = None,
    instance: str = "",
    errors: list[dict] | None = None,
) -> dict:
    """The problem document; ``problem_type`` is a slug of :class:`ProblemType` (or a full URI)."""
    slug = problem_type or _TYPE_BY_STATUS.get(status)
    if slug is None:
        type_uri, default_title = "about:blank", HTTPStatus(status).phrase
    elif "://" in slug:
        type_uri, default_title = slug, HTTPStatus(status).phrase
    else:
        type_uri, default_title = PROBLEM_BASE + slug, _TITLES.get(slug, HTTPStatus(status).phrase)
    body = {
        "type": type_uri,
        "title": title or default_title,
        "status": status,
        "detail": detail or HTTPStatus(status).description,
        "instance": instance,
    }
    request_id = current_request_id()
    if request_id != "-":
        body["request_id"] = request_id
    if errors is not None:
        body["errors"] = errors
    return body


def problem_response(request, status: int, *, headers: dict | None = None, **fields) -> JsonResponse:
    """A problem+json answer for plain Django views and middleware (no DRF request around)."""
    body = problem_body(status, instance=request.path if request is not None else "", **fields)
    response = JsonResponse(body, status=status, content_type=PROBLEM_CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


# --- validation detail ---------------------------------------------------------------------------


def flatten_errors(detail, prefix: str = "") -> list[dict]:
    """DRF's nested error structure as a flat list of ``{"field", "message", "code"}``."""
    flat: list[dict] = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = api_settings.NON_FIELD_ERRORS_KEY if key == "__all__" else str(key)
            flat.extend(flatten_errors(value, f"{prefix}.{name}" if prefix else name))
    elif isinstance(detail, list | tuple):
        for index, item in enumerate(detail):
            if isinstance(item, dict | list | tuple):
                # A list of nested results (many=True): one entry per item, valid items are empty.
                flat.extend(flatten_errors(item, f"{prefix}.{index}" if prefix else str(index)))
            else:
                flat.extend(flatten_errors(item, prefix))
    else:
        flat.append(
            {
                "field": prefix or api_settings.NON_FIELD_ERRORS_KEY,
                "message": str(detail),
                "code": getattr(detail, "code", None) or "invalid",
            }
        )
    return flat


def django_validation_detail(exc: DjangoValidationError):
    """A Django ``ValidationError`` as DRF-style detail (``__all__`` becomes ``non_field_errors``)."""
    if hasattr(exc, "error_dict"):
        return {
            (api_settings.NON_FIELD_ERRORS_KEY if field == "__all__" else field): [
                exceptions.ErrorDetail(message, code=error.code or "invalid")
                for error in errors
                for message in error.messages
            ]
            for field, errors in exc.error_dict.items()
        }
    return {
        api_settings.NON_FIELD_ERRORS_KEY: [
            exceptions.ErrorDetail(message, code=error.code or "invalid")
            for error in exc.error_list
            for message in error.messages
        ]
    }


def _summary(errors: list[dict]) -> str:
    if not errors:
        return "The request is invalid."
    first = errors[0]
    text = f"{first['field']}: {first['message']}"
    if len(errors) > 1:
        text += f" (and {len(errors) - 1} more)"
    return text


# --- DRF ---------------------------------------------------------------------------------------


def _as_api_exception(exc):
    if isinstance(exc, Http404):
        return exceptions.NotFound(*exc.args)
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied(*exc.args)
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(django_validation_detail(exc))
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge()
    if isinstance(exc, IntegrityError):
        # A unique constraint lost a race the service's own check could not see; the database
        # message names tables and values, so it stays in the log.
        logger.warning("integrity error answered as 409: %s", type(exc).__name__)
        return Conflict()
    return exc


def exception_handler(exc, context):
    exc = _as_api_exception(exc)
    if not isinstance(exc, exceptions.APIException):
        return None  # a real crash: Django logs it and handler500 answers

    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(max(1, math.ceil(exc.wait)))

    request = context.get("request")
    instance = request.path if request is not None else ""
    if isinstance(exc, exceptions.ValidationError):
        errors = flatten_errors(exc.detail)
        body = problem_body(
            exc.status_code,
            problem_type=ProblemType.VALIDATION,
            detail=_summary(errors),
            instance=instance,
            errors=errors,
        )
    else:
        detail = exc.detail if isinstance(exc.detail, str) else _summary(flatten_errors(exc.detail))
        body = problem_body(exc.status_code, detail=str(detail), instance=instance)

    set_rollback()
    if request is not None:
        # Errors are JSON whatever the client asked for (the browsable API would wrap them in HTML).
        request.accepted_renderer = ProblemJSONRenderer()
        request.accepted_media_type = PROBLEM_CONTENT_TYPE
    return Response(body, status=exc.status_code, headers=headers, content_type=PROBLEM_CONTENT_TYPE)


# --- Django error handlers ---------------------------------------------------------------------


def _page(request, template_name: str, status: int, text: str, *, with_request: bool = True) -> HttpResponse:
    try:
        template = loader.get_template(template_name)
    except TemplateDoesNotExist:
        return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")
    context = {"request_path": request.path, "status": status}
    # The 500 page renders without the request: context processors may touch the very database
    # whose failure we are reporting.
    body = template.render(context, request if with_request else None)
    return HttpResponse(body, status=status)


def handler400(request, exception=None):
    if is_api_path(request.path):
        if isinstance(exception, RequestDataTooBig):
            return problem_response(request, 413)
        return problem_response(request, 400, detail="The request could not be understood.")
    return _page(request, "400.html", 400, "Bad request.")


def handler403(request, exception=None):
    if is_api_path(request.path):
        return problem_response(request, 403, detail="You do not have permission to perform this action.")
    return _page(request, "403.html", 403, "Forbidden.")


def handler404(request, exception=None):
    if is_api_path(request.path):
        return problem_response(request, 404, detail="No API endpoint or object matches this URL.")
    return _page(request, "404.html", 404, "Page not found.")


# How long a client should wait before retrying a request that failed on an unreachable database.
OUTAGE_RETRY_AFTER_SECONDS = 5


def database_outage_response(request):
    """Nothing was made durable: say so in the way clients retry on (Alertmanager and PagerDuty
    clients retry a 503 after Retry-After), not as a bug."""
    headers = {"Retry-After": str(OUTAGE_RETRY_AFTER_SECONDS)}
    if is_api_path(request.path):
        detail = "The database is unreachable; nothing was stored. Retry shortly."
        return problem_response(request, 503, detail=detail, headers=headers)
    response = _page(request, "500.html", 503, "Temporarily unavailable.", with_request=False)
    response["Retry-After"] = headers["Retry-After"]
    return response


def handler500(request):
    if isinstance(sys.exc_info()[1], DATABASE_UNREACHABLE):
        return database_outage_response(request)
    if is_api_path(request.path):
        return problem_response(request, 500, detail="An unexpected error occurred; it has been logged.")
    return _page(request, "500.html", 500, "Server error.", with_request=False)
