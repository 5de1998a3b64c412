import pytest

from tests.realtime.sockets import organization_socket


@pytest.fixture
def socket(application):
    def make(session_key: str | None = None, query: str = ""):
        return organization_socket(application, session_key, query)

    return make
