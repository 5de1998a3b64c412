"""Rate limits per token (or signed-in person, or client IP), shared by every process through Redis."""

import json
import uuid

import pytest
from rest_framework.test import APIClient

from opsplatform.api.throttling import PerTokenRateThrottle

CURRENT = "/api/v1/organizations/current/"
SCHEMA = "/api/v1/schema/"


@pytest.fixture
def three_per_minute(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"token": "3/min"}}


def unique_ip() -> str:
    # Counters live in Redis for the whole run; a fresh address keeps this test's count its own.
    return "2001:db8::" + uuid.uuid4().hex[:4]


@pytest.mark.django_db
@pytest.mark.usefixtures("three_per_minute")
class TestPerToken:
    def test_fourth_request_in_a_minute_is_refused_with_retry_after(self, api_as):
        api = api_as("viewer")

        statuses = [api.get(CURRENT).status_code for _ in range(3)]
        refused = api.get(CURRENT)

        assert statuses == [200, 200, 200]
        assert refused.status_code == 429
        assert refused["Content-Type"] == "application/problem+json"
        assert json.loads(refused.content)["type"].endswith("/rate-limited")
        # The sliding estimate lets the full window fade for a while into the next one.
        assert 1 <= int(refused["Retry-After"]) <= 2 * 60

    def test_another_token_is_unaffected(self, api_as):
        first, second = api_as("viewer"), api_as("viewer")
        for _ in range(4):
            first.get(CURRENT)

        assert first.get(CURRENT).status_code == 429
        assert second.get(CURRENT).status_code == 200

    def test_refused_requests_do_not_extend_the_block(self, api_as):
        api = api_as("operator")
        for _ in range(3):
            api.get(CURRENT)

        refusals = [api.get(CURRENT) for _ in range(5)]

        assert {r.status_code for r in refusals} == {429}
        # Hammering while blocked does not push the allowed time further out.
        assert int(refusals[-1]["Retry-After"]) <= int(refusals[0]["Retry-After"])

    def test_writes_count_too(self, api_as):
        api = api_as("manager")
        for name in ("a", "b", "c"):
            assert api.post("/api/v1/teams/", {"name": name}, format="json").status_code == 201

        assert api.post("/api/v1/teams/", {"name": "d"}, format="json").status_code == 429

    def test_session_is_limited_per_person(self, client_as, users):
        client = client_as("viewer")
        for _ in range(3):
            assert client.get(CURRENT).status_code == 200

        assert client.get(CURRENT).status_code == 429
        other = APIClient()
        other.force_login(users["operator"])
        assert other.get(CURRENT).status_code == 200

    def test_anonymous_callers_are_limited_per_address(self, db):
        api = APIClient()
        address = unique_ip()
        for _ in range(3):
            assert api.get(SCHEMA, REMOTE_ADDR=address).status_code == 200

        assert api.get(SCHEMA, REMOTE_ADDR=address).status_code == 429
        assert api.get(SCHEMA, REMOTE_ADDR=unique_ip()).status_code == 200

    def test_forwarded_for_is_not_trusted_without_a_proxy(self, db):
        api = APIClient()
        address = unique_ip()
        for n in range(3):
            api.get(SCHEMA, REMOTE_ADDR=address, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")

        assert api.get(SCHEMA, REMOTE_ADDR=address, HTTP_X_FORWARDED_FOR="198.51.100.99").status_code == 429


class TestSlidingWindow:
    """The estimate across a window edge: the previous window's requests still weigh in."""

    @pytest.fixture
    def throttle(self, settings):
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"token": "10/min"}}
        return PerTokenRateThrottle()

    def test_rate_is_read_from_settings_at_construction(self, throttle):
        assert (throttle.num_requests, throttle.duration) == (10, 60)

    def test_full_window_waits_into_the_next(self, throttle):
        # 10 done this window, 30% in: the next window must age this one's weight to 9/10.
        wait = throttle._seconds_until_allowed(previous=0, current=10, elapsed=0.3)

        assert wait == pytest.approx((0.7 + 0.1) * 60)

    def test_previous_window_fades(self, throttle):
        # 10 in the previous window, 2 in this one, 10% in: allowed once 10 * (1 - e) + 3 <= 10, at 30%.
        wait = throttle._seconds_until_allowed(previous=10, current=2, elapsed=0.1)

        assert wait == pytest.approx(0.2 * 60)
