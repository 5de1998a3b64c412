"""A web process freezes, once, what its first requests built (``opsplatform.core.gc_warmup``), so
that its full collections walk only the objects of the moment; through the ingestion handler of
``opsplatform.asgi``, as requests arrive."""

import asyncio
import gc
import json

import pytest

from opsplatform.core import gc_warmup
from opsplatform.core.gc_warmup import FreezeAfter
from tests.asgi_post import post

# An unknown key: answered (PagerDuty's shape) without writing anything; the count is of requests.
STATUS = 404


@pytest.fixture
def unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_the_nth_request_freezes_and_no_later_one(unfrozen):
    freeze = FreezeAfter(3)
    survivors = [[n] for n in range(1000)]  # live containers: tracked by the collector
    assert gc.get_freeze_count() == 0
    assert [freeze(), freeze()] == [False, False]
    assert gc.get_freeze_count() == 0
    assert freeze() is True
    assert gc.get_freeze_count() >= len(survivors)
    assert not any(survivors is obj for obj in gc.get_objects())  # out of the collector's sight
    more = [[n] for n in range(1000)]
    assert [freeze() for _ in range(5)] == [False] * 5
    # What came after is still the collector's: no second freeze. (The frozen count itself is no
    # measure: frozen objects freed by their last reference leave it.)
    assert any(more is obj for obj in gc.get_objects())


@pytest.mark.django_db(transaction=True)
def test_the_ingestion_handler_counts_its_requests(unfrozen, monkeypatch):
    from opsplatform.asgi import ingestion_app

    gc.unfreeze()  # the module freezes what exists when it is first imported
    counter = FreezeAfter(2)
    monkeypatch.setattr("opsplatform.core.pooled_asgi.request_served", counter)
    body = json.dumps({"routing_key": "opi_unknown", "event_action": "trigger"}).encode()
    assert asyncio.run(post(ingestion_app, "/v2/enqueue", body)) == STATUS
    assert counter.left == 1 and gc.get_freeze_count() == 0
    # Answered, then counted: the second request freezes.
    assert asyncio.run(post(ingestion_app, "/v2/enqueue", body)) == STATUS
    assert counter.left == 0
    assert gc.get_freeze_count() > 0
    assert gc_warmup.FREEZE_AFTER_REQUESTS == 1000
