"""One outgoing request, its sending, and its outcome."""

from __future__ import annotations

import re
import smtplib
import time
from dataclasses import dataclass, field
from datetime import datetime

import httpx
from django.core.mail import EmailMessage, get_connection
from django.utils import timezone

from opsplatform.core import http

# Errors end up in the ledger and on pages: never a URL (a Slack or Teams webhook URL is a credential).
_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://\S+")
_RETRYABLE_STATUS = {408, 409, 425, 429}


def clean_error(text: str, limit: int = 300) -> str:
    return _URL.sub("[url]", " ".join(str(text).split()))[:limit]


@dataclass
class Outgoing:
    notification_id: int
    attempt: int
    medium: str
    # HTTP
    method: str = "POST"
    url: str = ""
    content: bytes = b""
    headers: dict = field(default_factory=dict)
    auth: tuple[str, str] | None = None
    # e-mail
    email: EmailMessage | None = None
    # set when preparation already failed; nothing is sent
    error: str = ""
    retryable: bool = False
    # the organization channel this request goes through (its health is updated with the outcome)
    channel_id: int | None = None


@dataclass
class SendResult:
    notification_id: int
    attempt: int
    ok: bool
    started_at: datetime
    duration_ms: int
    status_code: int | None = None
    error: str = ""
    retryable: bool = False


def _http(outgoing: Outgoing) -> tuple[bool, int | None, str, bool]:
    try:
        response = http.request(
            outgoing.method,
            outgoing.url,
            content=outgoing.content,
            headers=outgoing.headers,
            auth=outgoing.auth,
        )
    except http.OutboundRefused as exc:
        return False, None, clean_error(exc), False
    except httpx.TimeoutException as exc:
        return False, None, clean_error(f"timed out ({type(exc).__name__})"), True
    except httpx.HTTPError as exc:
        return False, None, clean_error(f"{type(exc).__name__}: {exc}"), True
    except ValueError as exc:  # a URL the client refuses outright
        return False, None, clean_error(exc), False
    code = response.status_code
    if 200 <= code < 300:
        return True, code, "", False
    body = clean_error(response.text, 200) if response.content else ""
    retryable = code >= 500 or code in _RETRYABLE_STATUS
    return False, code, f"HTTP {code}{': ' + body if body else ''}", retryable


def _email(outgoing: Outgoing) -> tuple[bool, int | None, str, bool]:
    try:
        with get_connection() as connection:
            outgoing.email.connection = connection
            outgoing.email.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as exc:
        return False, None, clean_error(f"recipient refused: {exc}"), False
    except smtplib.SMTPResponseException as exc:
        # 4xx is the server saying "later"; 5xx is final.
        return (
            False,
            exc.smtp_code,
            clean_error(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"),
            exc.smtp_code < 500,
        )
    except (smtplib.SMTPException, OSError) as exc:  # OSError covers refused connections and timeouts
        return False, None, clean_error(f"{type(exc).__name__}: {exc}"), True
    return True, None, "", False


def send(outgoing: Outgoing) -> SendResult:
    started_at = timezone.now()
    start = time.perf_counter()
    if outgoing.error:
        ok, code, error, retryable = False, None, outgoing.error, outgoing.retryable
    elif outgoing.email is not None:
        ok, code, error, retryable = _email(outgoing)
    else:
        ok, code, error, retryable = _http(outgoing)
    return SendResult(
        notification_id=outgoing.notification_id,
        attempt=outgoing.attempt,
        ok=ok,
        started_at=started_at,
        duration_ms=int((time.perf_counter() - start) * 1000),
        status_code=code,
        error=error,
        retryable=retryable,
    )
