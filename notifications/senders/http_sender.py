"""On-call and notifications: what every sender that makes an HTTP request shares (Slack, Teams,
webhook, Twilio): the guarded outbound client, how a response becomes an outcome, and the delivery
headers that let a receiver recognize a retry of the same notification."""

from __future__ import annotations

import json

import httpx

from notifications.incident_message import IncidentMessage
from notifications.senders.base import Outcome, Outgoing, Sender, clean_error
from opsplatform.core import http

_RETRYABLE_STATUS = {408, 409, 425, 429}


def delivery_headers(message: IncidentMessage, attempt: int) -> dict:
    return {
        "X-OpsPlatform-Delivery": message.delivery_key,
        "X-OpsPlatform-Attempt": str(attempt),
        "Idempotency-Key": message.delivery_key,
    }


class HttpSender(Sender):
    def transmit(self, outgoing: Outgoing) -> Outcome:
        try:
            response = http.request(
                outgoing.method,
                outgoing.url,
                content=outgoing.content,
                headers=outgoing.headers,
                auth=outgoing.auth,
            )
        except http.OutboundRefused as exc:
            return Outcome(False, None, clean_error(exc), False)
        except httpx.TimeoutException as exc:
            return Outcome(False, None, clean_error(f"timed out ({type(exc).__name__})"), True)
        except httpx.HTTPError as exc:
            return Outcome(False, None, clean_error(f"{type(exc).__name__}: {exc}"), True)
        except ValueError as exc:  # a URL the client refuses outright
            return Outcome(False, None, clean_error(exc), False)
        code = response.status_code
        if 200 <= code < 300:
            return Outcome(True, code, "", False)
        body = clean_error(response.text, 200) if response.content else ""
        retryable = code >= 500 or code in _RETRYABLE_STATUS
        return Outcome(False, code, f"HTTP {code}{': ' + body if body else ''}", retryable)

    @staticmethod
    def json_request(outgoing: Outgoing, url: str, body: dict, headers: dict) -> Outgoing:
        outgoing.url = url
        outgoing.content = json.dumps(body).encode()
        outgoing.headers = {**headers, "Content-Type": "application/json"}
        return outgoing
