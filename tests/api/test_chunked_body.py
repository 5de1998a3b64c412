"""A body sent without a Content-Length (``Transfer-Encoding: chunked``) is read like any other:
a write answered 200 happened, and an oversized one is a 413, through the real ASGI server."""

import json

import httpx
import pytest

from audit.models import LedgerEntry
from incidents.models import Service
from tests.incidents.factories import ServiceFactory
from tests.servers import asgi_server

KIB = 1024


def chunks(body: bytes, size: int = 4 * KIB):
    # A generator body: httpx sends it chunked, with no Content-Length.
    for start in range(0, len(body), size):
        yield body[start : start + size]


@pytest.mark.django_db(transaction=True)
def test_a_chunked_write_is_applied_and_an_oversized_one_refused(org, token_for):
    service = ServiceFactory(organization=org, name="Payments", slug="payments", description="before")
    headers = {"Authorization": f"Bearer {token_for('owner')}", "Content-Type": "application/json"}
    ledger_before = LedgerEntry.objects.count()
    oversized = json.dumps({"description": "x" * (600 * KIB)}).encode()

    with asgi_server() as server:
        url = f"{server.url}/api/v1/services/{service.pk}/"
        applied = httpx.patch(url, content=chunks(b'{"description": "sent in chunks"}'), headers=headers)
        refused = httpx.patch(url, content=chunks(oversized), headers=headers, timeout=30)
        empty = httpx.post(f"{server.url}/api/v1/services/", content=chunks(b""), headers=headers)

    assert applied.status_code == 200, applied.text
    assert applied.json()["description"] == "sent in chunks"
    assert refused.status_code == 413, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    # No body at all is a missing name, not a service created from nothing.
    assert empty.status_code == 400, empty.text
    service.refresh_from_db()
    assert service.description == "sent in chunks"
    assert Service.objects.filter(organization=org).count() == 1
    assert LedgerEntry.objects.count() == ledger_before + 1
