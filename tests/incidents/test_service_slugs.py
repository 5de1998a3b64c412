"""Every service gets a valid slug, unique in its organization, whatever script its name is in."""

import re

import pytest
from django.urls import reverse

from audit.models import LedgerEntry
from incidents.models import Service
from incidents.services import service_create

SLUG = re.compile(r"[-a-zA-Z0-9_]+\Z")


def _created(name):
    service = Service.objects.get(name=name)
    assert SLUG.match(service.slug), service.slug
    assert LedgerEntry.objects.filter(verb="service.created", target_id=str(service.pk)).count() == 1
    return service


def test_two_non_ascii_names_in_a_row_through_the_page(client_as):
    client = client_as("manager")
    for name in ["日本", "中国"]:
        response = client.post(
            reverse("incidents:service_new"), {"name": name, "tier": "tier2", "default_severity": "sev3"}
        )
        assert response.status_code == 302, response.content.decode()[:500]
    assert _created("日本").slug != _created("中国").slug


def test_two_non_ascii_names_in_a_row_through_the_api(api_as):
    api = api_as("manager")
    bodies = [api.post("/api/v1/services/", {"name": name}, format="json") for name in ["Ελλάδα", "Κύπρος"]]
    assert [b.status_code for b in bodies] == [201, 201], [b.content for b in bodies]
    assert bodies[0].json()["slug"] != bodies[1].json()["slug"]
    assert SLUG.match(_created("Ελλάδα").slug) and SLUG.match(_created("Κύπρος").slug)


@pytest.mark.parametrize(
    ("first", "second"),
    [("日本 API", "中国 API"), ("!!!", "???"), ("Café", "Cafe")],
)
def test_names_that_fold_to_the_same_ascii_stay_distinct(actor_as, first, second):
    a = service_create(actor=actor_as("manager"), name=first)
    b = service_create(actor=actor_as("manager"), name=second)
    assert a.slug != b.slug and SLUG.match(a.slug) and SLUG.match(b.slug)


def test_the_same_non_ascii_name_twice_is_a_duplicate(api_as):
    api = api_as("manager")
    assert api.post("/api/v1/services/", {"name": "日本"}, format="json").status_code == 201
    again = api.post("/api/v1/services/", {"name": "日本"}, format="json")
    assert again.status_code == 400
    assert Service.objects.filter(name="日本").count() == 1


def test_ascii_names_keep_their_readable_slug(actor_as):
    assert service_create(actor=actor_as("manager"), name="Payments API").slug == "payments-api"
