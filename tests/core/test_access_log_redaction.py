"""Credentials in URL paths never reach the server's access log, nor any other log line."""

import httpx
import pytest

from opsplatform.core.logging import redact
from tests.servers import asgi_server

SECRETS = {
    "/api/v1/integrations/opi_accesslogkey1234567890/alertmanager/": "opi_accesslogkey1234567890",
    "/oncall/calendar/ocal_feedtoken1234567890.ics": "ocal_feedtoken1234567890",
    "/invitations/invite-token-abcdef123456/": "invite-token-abcdef123456",
    "/ack/ack-token.signed-abcdef123456/": "ack-token.signed-abcdef123456",
}


@pytest.mark.django_db(transaction=True)
def test_the_access_log_names_the_paths_without_their_credentials(tmp_path):
    log = tmp_path / "server.log"
    with log.open("wb") as output, asgi_server(access_log=True, output=output) as server:
        for path in SECRETS:
            httpx.post(f"{server.url}{path}", content=b"{}", timeout=10)
            httpx.get(f"{server.url}{path}", timeout=10)
    written = log.read_text()

    assert "/api/v1/integrations/opi_[redacted]/alertmanager/" in written  # the access log is there
    assert "/oncall/calendar/[redacted]" in written
    for secret in SECRETS.values():
        assert secret not in written


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("signing secret whsec_abcdefghijklmnop", "whsec_abcdefghijklmnop"),
        ('{"routing_key": "R0ut1ngKeyValue"}', "R0ut1ngKeyValue"),
        ("api-key=plainvalue123", "plainvalue123"),
        ("GET /ack/tok.en-1234/ HTTP/1.1", "tok.en-1234"),
    ],
)
def test_redaction_covers_every_secret_format(text, secret):
    assert secret not in redact(text)
    assert "[redacted]" in redact(text)


def test_without_the_access_log_the_server_sees_no_handler():
    import logging
    import logging.config

    from opsplatform.core.logging import logging_config

    logger = logging.getLogger("uvicorn.access")
    saved = logger.handlers[:], logger.propagate
    try:
        logging.config.dictConfig(logging_config("INFO", access_log=False))
        # uvicorn writes an access line whenever the logger has a handler, whatever its options say.
        assert not logger.hasHandlers()
        logging.config.dictConfig(logging_config("INFO", access_log=True))
        assert logger.hasHandlers()
    finally:
        logger.handlers[:], logger.propagate = saved
