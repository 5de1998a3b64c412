"""The MongoDB connection, when ``MONGO_URL`` is set: the ledger archive and the high-volume event
logs go there. One client per process (pymongo pools connections and is thread-safe).

Tests install a stand-in client with :func:`use_client` (mongomock: no MongoDB server can run on
the build machines); a deployment only ever gets ``MongoClient(MONGO_URL)``.
"""

from __future__ import annotations

import threading

from django.conf import settings

_lock = threading.Lock()
_state = {"client": None}


def enabled() -> bool:
    return bool(settings.MONGO_URL)


def client():
    with _lock:
        if _state["client"] is None:
            from pymongo import MongoClient

            # Short server selection: an outage should fail a batch quickly (it is retried), not hang it.
            _state["client"] = MongoClient(
                settings.MONGO_URL, serverSelectionTimeoutMS=3000, connectTimeoutMS=3000
            )
        return _state["client"]


def database():
    return client()[settings.MONGO_DATABASE]


def use_client(replacement) -> None:
    """Replace the process's client (tests: a mongomock client; ``None`` to reconnect from settings)."""
    with _lock:
        _state["client"] = replacement
