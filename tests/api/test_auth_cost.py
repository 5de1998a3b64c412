"""What authenticating a bearer request costs in database round trips, pinned: one statement reads
the token, its owner, its organization and the owner's role there."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from opsplatform.accounts.models import ApiToken

pytestmark = pytest.mark.django_db


def _queries(api, method="get", path="/api/v1/incidents/"):
    with CaptureQueriesContext(connection) as captured:
        response = getattr(api, method)(path)
    return response, [q["sql"] for q in captured.captured_queries]


def test_a_token_and_its_role_are_one_statement(api_as):
    api = api_as("viewer")
    assert api.get("/api/v1/incidents/").status_code == 200  # stamps last use: not counted below

    # A method the route does not offer is authenticated, then answered without any view code.
    response, sqls = _queries(api, "delete")

    assert response.status_code == 405
    assert len(sqls) == 1, sqls
    assert "accounts_apitoken" in sqls[0] and "accounts_membership" in sqls[0]


def test_last_use_is_written_at_most_once_a_minute(api_as):
    api = api_as("viewer")

    first, first_sqls = _queries(api)
    second, second_sqls = _queries(api)

    assert first.status_code == second.status_code == 200
    assert [s for s in first_sqls if s.startswith("UPDATE") and "last_used_at" in s]
    assert not [s for s in second_sqls if "last_used_at" in s and s.startswith("UPDATE")]
    assert ApiToken.objects.get().last_used_at is not None


def test_an_unknown_token_costs_the_one_lookup(db):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Bearer opk_not-a-token")

    response, sqls = _queries(api)

    assert response.status_code == 401
    assert len(sqls) == 1, sqls
