"""The event-log backends every test here runs against: PostgreSQL (real) and MongoDB (a real
server when ``MONGO_URL`` is set in the environment, else mongomock, the one accepted stand-in)."""

import os
import uuid

import mongomock
import pytest

from audit.eventlog import expiry, shipping
from opsplatform.core import mongo

REAL_MONGO = os.environ.get("MONGO_URL", "")


@pytest.fixture(params=["postgres", "mongo"])
def backend(request, settings):
    expiry.forget()
    shipping._indexed.clear()
    shipping.shipper.resume()
    settings.EVENT_LOGS_BACKEND = request.param
    settings.EVENT_LOG_SHIP_INLINE = True
    settings.EVENT_LOG_SHIP_BACKOFF_SECONDS = 0
    if request.param == "postgres":
        settings.MONGO_URL = ""
        yield request.param
        return
    settings.MONGO_URL = REAL_MONGO or "mongodb://stand-in"
    settings.MONGO_DATABASE = f"test_eventlog_{uuid.uuid4().hex[:8]}"
    client = None if REAL_MONGO else mongomock.MongoClient()
    mongo.use_client(client)
    try:
        yield request.param
    finally:
        shipping.shipper.stop()  # a test's shipping thread must not write into the next test
        if REAL_MONGO:
            mongo.client().drop_database(settings.MONGO_DATABASE)
        mongo.use_client(None)
        shipping._indexed.clear()
        shipping.shipper.resume()


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run what happens after commit (the MongoDB writes) at the end of the block, as a real
    request's commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)
