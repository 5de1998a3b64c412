"""The outbound client keeps an idle connection open until the receiver closes it.

httpcore's pool (1.0.9) can close a connection whose keep-alive just expired after it handed that
connection to a waiting request: the request is written and its answer read from a closed socket.
The page arrived, yet it counts as failed and is sent again. So the client sets no expiry of its
own: an idle connection is reused however long it waited, and one the receiver closed is dropped.
"""

import time

from django.test import override_settings

from opsplatform.core import http
from tests.notifications.peers import http_receiver

# httpcore's default keep-alive expiry is 5 s: past it, the old client opened a new connection.
IDLE_SECONDS = 5.5


def test_an_idle_connection_is_reused_after_what_used_to_expire_it():
    allowed = override_settings(OUTBOUND_ALLOWED_NETWORKS=["127.0.0.0/8"])
    with http_receiver() as receiver, allowed, http.client() as client:
        assert client.post(receiver.url("/first"), content=b"{}").status_code == 200
        time.sleep(IDLE_SECONDS)
        assert client.post(receiver.url("/second"), content=b"{}").status_code == 200
    first, second = receiver.requests
    assert first.client == second.client
