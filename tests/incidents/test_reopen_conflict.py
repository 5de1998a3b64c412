"""Reopening an incident whose dedup key a newer open incident now holds: the partial unique index
allows one open incident per key, so the reopen is refused with a reason that names the other one."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from incidents import services
from incidents.models import Status
from tests.incidents.api.helpers import assert_problem, detail, entries

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def held(open_incident, actor_as):
    """(resolved incident, newer open incident holding its dedup key)"""
    old = open_incident(dedup_key="db-primary-down")
    services.incident_resolve(actor=actor_as("operator"), incident=old)
    newer = open_incident(dedup_key="db-primary-down")
    old.refresh_from_db()
    return old, newer


def _unchanged(old):
    old.refresh_from_db()
    assert old.status == Status.RESOLVED and old.resolved_at is not None
    assert entries(old, "incident.reopened").count() == 0


def test_service_names_the_holder(held, actor_as):
    old, newer = held
    with pytest.raises(ValidationError) as raised:
        services.incident_reopen(actor=actor_as("operator"), incident=old)
    assert f"#{newer.pk}" in " ".join(raised.value.messages)
    _unchanged(old)


def test_page_shows_a_link_to_the_holder(held, client_as):
    old, newer = held
    client = client_as("operator")
    response = client.post(reverse("incidents:action", args=[old.pk, "reopen"]), follow=True)
    assert response.status_code == 200
    assert f'href="{reverse("incidents:detail", args=[newer.pk])}"' in response.content.decode()
    fragment = client.post(reverse("incidents:action", args=[old.pk, "reopen"]), **HTMX)
    assert fragment.status_code == 200
    assert f'href="{reverse("incidents:detail", args=[newer.pk])}"' in fragment.content.decode()
    _unchanged(old)


def test_api_answers_409_naming_the_holder(held, api_as):
    old, newer = held
    body = assert_problem(api_as("operator").post(detail(old, "reopen")), 409)
    assert f"#{newer.pk}" in body["detail"]
    _unchanged(old)
