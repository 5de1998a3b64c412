"""One rule for every list: ``page_size`` is an integer from 1 to the maximum, ``page`` a page that
exists, ``cursor`` one the server handed out; anything else is a 400 problem naming the parameter."""

import base64
import json

import pytest

from opsplatform.api.pagination import MAX_PAGE_SIZE
from tests.incidents.factories import ServiceFactory

PROBLEM = "application/problem+json"
# One list per pagination style: numbered pages (teams, services), time cursor (ledger,
# notifications).
PAGED = ["/api/v1/teams/", "/api/v1/services/", "/api/v1/members/"]
CURSORED = ["/api/v1/ledger/", "/api/v1/notifications/"]


def assert_names(response, param: str):
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == PROBLEM
    fields = [error["field"] for error in json.loads(response.content)["errors"]]
    assert fields == [param]


def cursor(payload: str) -> str:
    return base64.b64encode(payload.encode()).decode()


@pytest.fixture
def owner_api(api_as, org):
    for index in range(3):
        ServiceFactory(organization=org, name=f"svc {index}", slug=f"svc-{index}")
    return api_as("owner")


@pytest.mark.django_db
class TestPageSize:
    @pytest.mark.parametrize("path", PAGED + CURSORED)
    @pytest.mark.parametrize("value", ["100000", str(MAX_PAGE_SIZE + 1), "-1", "0", "abc", "", "1.5", "²"])
    def test_out_of_range_or_not_a_number(self, owner_api, path, value):
        assert_names(owner_api.get(path, {"page_size": value}), "page_size")

    @pytest.mark.parametrize("path", PAGED + CURSORED)
    @pytest.mark.parametrize("value", ["1", str(MAX_PAGE_SIZE)])
    def test_bounds_are_accepted(self, owner_api, path, value):
        response = owner_api.get(path, {"page_size": value})

        assert response.status_code == 200, response.content

    def test_the_size_is_applied(self, owner_api):
        body = owner_api.get("/api/v1/services/", {"page_size": "2"}).json()

        assert len(body["results"]) == 2
        assert body["count"] == 3


@pytest.mark.django_db
class TestPageAndCursor:
    @pytest.mark.parametrize("value", ["abc", "0", "-1", "99"])
    def test_a_page_that_does_not_exist(self, owner_api, value):
        assert_names(owner_api.get("/api/v1/services/", {"page": value}), "page")

    @pytest.mark.parametrize("path", CURSORED)
    @pytest.mark.parametrize(
        "value",
        [
            "garbage",
            cursor("o=1&r=0&p=abc"),
            cursor("o=1&r=0&p=2025-01-01 00:00:00+16:00"),
            cursor("o=1&r=0&p=0001-01-01 00:00:00+01:00"),
            cursor("o=1&r=0&p=99999999999999999999999"),
            cursor("o=-1&r=0"),
        ],
    )
    def test_an_invalid_cursor(self, owner_api, path, value):
        assert_names(owner_api.get(path, {"cursor": value}), "cursor")

    def test_a_cursor_handed_out_still_works(self, owner_api, org):
        for name in ("Red", "Blue"):
            assert owner_api.post("/api/v1/teams/", {"name": name}, format="json").status_code == 201
        first = owner_api.get("/api/v1/ledger/", {"page_size": "1"}).json()
        assert first["next"]

        response = owner_api.get(first["next"])

        assert response.status_code == 200, response.content
        assert response.json()["results"][0]["id"] != first["results"][0]["id"]
