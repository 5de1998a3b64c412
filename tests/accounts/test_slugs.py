"""Every name gets a valid, unique slug: ASCII when the name has some, a numbered fallback when not."""

import pytest
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug

from opsplatform.accounts import services
from opsplatform.accounts.models import Organization, Team
from opsplatform.core.actors import Actor
from tests.accounts.factories import UserFactory
from tests.ledger import entries

pytestmark = pytest.mark.django_db


def test_two_non_ascii_team_names_in_a_row(org, actor_as):
    first = services.team_create(actor=actor_as("manager"), name="运维")
    second = services.team_create(actor=actor_as("manager"), name="监控")

    assert {first.slug, second.slug} == {"team-1", "team-2"}
    for team in (first, second):
        validate_slug(team.slug)
    assert list(Team.objects.filter(organization=org).order_by("pk").values_list("name", flat=True)) == [
        "运维",
        "监控",
    ]
    assert entries("team.created", organization=org).count() == 2


def test_two_non_ascii_team_names_in_a_row_through_the_page(client_as, org):
    client = client_as("manager")

    responses = [
        client.post("/settings/teams/", {"name": name, "time_zone": "UTC"}) for name in ("运维", "监控")
    ]

    assert [r.status_code for r in responses] == [302, 302]
    teams = Team.objects.filter(organization=org).order_by("pk")
    assert [(t.name, t.slug) for t in teams] == [("运维", "team-1"), ("监控", "team-2")]
    assert responses[1]["Location"] == f"/settings/teams/{teams[1].pk}/"
    assert entries("team.created", organization=org).count() == 2


def test_a_mixed_name_keeps_its_ascii_part(org, actor_as):
    assert services.team_create(actor=actor_as("manager"), name="SRE 运维").slug == "sre"


def test_different_names_with_the_same_slug_both_get_created(org, actor_as, team):
    # "Payments!" slugifies like the existing "Payments": a distinct name, so a distinct slug.
    other = services.team_create(actor=actor_as("manager"), name="Payments!")

    assert other.slug == "payments-2"
    assert Team.objects.filter(organization=org).count() == 2


def test_the_same_team_name_twice_is_refused(org, actor_as, team):
    with pytest.raises(ValidationError) as refused:
        services.team_create(actor=actor_as("manager"), name="payments")

    assert "name" in refused.value.message_dict
    assert Team.objects.filter(organization=org).count() == 1
    assert not entries("team.created", organization=org).exists()


def test_team_slugs_are_per_organization(org, other_org, actor_as, outsider):
    services.team_create(actor=actor_as("manager"), name="运维")
    foreign = services.team_create(actor=Actor.for_member(outsider, other_org), name="运维")

    assert foreign.slug == "team-1"


def test_two_non_ascii_organization_names_in_a_row():
    first = services.organization_create(name="运维", owner=UserFactory())
    second = services.organization_create(name="监控", owner=UserFactory())

    assert (first.slug, second.slug) == ("organization-1", "organization-2")
    for org in (first, second):
        validate_slug(org.slug)
    assert entries("organization.created", organization=second).get().data == {
        "name": "监控",
        "slug": "organization-2",
    }


def test_organization_names_with_the_same_ascii_slug_are_numbered():
    first = services.organization_create(name="Initech", owner=UserFactory())
    second = services.organization_create(name="Initech 运维", owner=UserFactory())

    assert (first.slug, second.slug) == ("initech", "initech-2")
    assert Organization.objects.count() == 2


def test_an_explicit_organization_slug_that_is_taken_is_refused():
    services.organization_create(name="Initech", owner=UserFactory())

    with pytest.raises(ValidationError) as refused:
        services.organization_create(name="Other", slug="initech", owner=UserFactory())

    assert "slug" in refused.value.message_dict
    assert Organization.objects.count() == 1


def test_an_invalid_explicit_organization_slug_is_refused():
    with pytest.raises(ValidationError) as refused:
        services.organization_create(name="Other", slug="运维", owner=UserFactory())

    assert "slug" in refused.value.message_dict
    assert not Organization.objects.exists()
