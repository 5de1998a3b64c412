"""Structured logs: a request id on every line and on the response, and secrets never written."""

import json
import logging

import pytest

from opsplatform.core.logging import RedactSecretsFilter, RequestIdFilter, redact


@pytest.mark.parametrize(
    "text",
    [
        "Authorization: Bearer opk_abcdefghijklmnopqrstuvwxyz0123456789",
        "calling with token=opk_supersecretvalue123 now",
        'body {"password": "hunter2-hunter2"}',
        "integration key opi_demo_acme_pagerduty_7c41d9e2a5b8f036 used",
    ],
)
def test_secrets_are_redacted(text):
    cleaned = redact(text)
    assert "[redacted]" in cleaned
    for secret in ("opk_abcdefghijklmnop", "opk_supersecretvalue123", "hunter2", "7c41d9e2a5b8f036"):
        assert secret not in cleaned


def test_log_records_are_redacted_and_json(caplog):
    from pythonjsonlogger.json import JsonFormatter

    logger = logging.getLogger("opsplatform.test")
    handler = logging.StreamHandler()
    records = []
    handler.emit = lambda record: records.append(handler.format(record))
    handler.setFormatter(JsonFormatter("%(levelname)s %(message)s %(request_id)s"))
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactSecretsFilter())
    logger.addHandler(handler)
    try:
        logger.warning("retrying with %s", "Bearer opk_0123456789abcdefghij")
    finally:
        logger.removeHandler(handler)
    line = json.loads(records[0])
    assert "opk_0123456789abcdefghij" not in line["message"]
    assert line["request_id"] == "-"


@pytest.mark.django_db
def test_request_id_is_echoed_or_made(client):
    made = client.get("/healthz")
    assert len(made["X-Request-ID"]) == 32
    given = client.get("/healthz", HTTP_X_REQUEST_ID="edge-proxy-1234")
    assert given["X-Request-ID"] == "edge-proxy-1234"
    bogus = client.get("/healthz", HTTP_X_REQUEST_ID="<script>")
    assert bogus["X-Request-ID"] != "<script>"
