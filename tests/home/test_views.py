"""The home page by role: what each role sees, and that nothing it links to answers 403."""

import re

import pytest

from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

ROLES = ["owner", "admin", "manager", "operator", "viewer"]
CARDS = ["stats", "attention", "mine", "sla", "oncall", "deliveries", "activity"]
HREF = re.compile(r'href="(/[^"#]*)"')


@pytest.mark.parametrize("role", ROLES)
def test_every_role_gets_a_home_with_every_card(client_as, busy_org, role):
    response = client_as(role).get("/")

    assert response.status_code == 200
    content = response.content.decode()
    for card in CARDS:
        assert f'id="card-{card}"' in content
    assert "Card payments failing" in content
    assert 'data-stat="triggered"' in content
    assert '<div class="stat-value">3</div><div class="stat-label">Unacknowledged</div>' in content


@pytest.mark.parametrize(
    ("role", "can_create", "sees_audit"),
    [
        ("owner", True, True),
        ("admin", True, True),
        ("manager", True, True),
        ("operator", True, False),
        ("viewer", False, False),
    ],
)
def test_actions_and_links_follow_the_role(client_as, busy_org, role, can_create, sees_audit):
    content = client_as(role).get("/").content.decode()

    assert ('href="/incidents/new/"' in content) is can_create
    assert ('href="/audit/"' in content) is sees_audit


@pytest.mark.parametrize("role", ROLES)
def test_no_link_on_the_home_answers_403(client_as, busy_org, weekly_schedule, role):
    client = client_as(role)
    content = client.get("/").content.decode()
    links = sorted(set(HREF.findall(content)) - {"/"})

    assert "/incidents/new/" in links or role == "viewer"
    assert any(link.startswith("/incidents/") for link in links)
    # A viewer on no team gets no schedules; everyone else sees Payments' (their team's, or all).
    assert (f"/oncall/schedules/{weekly_schedule.pk}/" in links) is (role != "viewer")
    refused = {}
    for link in links:
        status = client.get(link.replace("&amp;", "&")).status_code
        if status == 403 or status >= 500:
            refused[link] = status
    assert refused == {}


@pytest.mark.parametrize("card", CARDS)
def test_each_card_is_served_alone_for_live_refreshes(client_as, busy_org, card):
    response = client_as("viewer").get(f"/home/cards/{card}/")

    assert response.status_code == 200
    assert b"<html" not in response.content


def test_card_endpoint_refuses_unknown_cards_and_strangers(client, client_as, busy_org):
    assert client_as("viewer").get("/home/cards/nope/").status_code == 404
    client.logout()
    assert client.get("/home/cards/attention/").status_code == 302  # to the login page


def test_live_regions_name_the_event_kind_they_follow(client_as, busy_org):
    content = client_as("operator").get("/").content.decode()

    assert re.search(
        r'id="card-attention"[^>]*data-live="incident"[^>]*hx-get="/home/cards/attention/"', content
    )
    assert re.search(r'id="card-activity"[^>]*data-live="ledger"', content)


def test_another_organization_sees_nothing_of_acme(client_as, busy_org):
    content = client_as("outsider").get("/").content.decode()

    assert "Card payments failing" not in content
    assert "No open incidents — all quiet." in content


def test_an_empty_organization_says_what_to_do_next(client_as, org):
    content = client_as("viewer").get("/").content.decode()

    assert "No open incidents — all quiet." in content
    assert "You are not on a team yet" in content  # a viewer on no team
    assert "Every channel is delivering" in content
    assert "Nothing has happened yet." in content


def test_the_person_on_call_is_told_until_when(client_as, users, weekly_schedule):
    content = client_as("operator").get("/").content.decode()
    manager = client_as("manager").get("/").content.decode()

    # Whoever's week it is, one of the two is on call now and the other is told when they are next.
    on_call = [
        name for name, page in (("operator", content), ("manager", manager)) if "data-you-on-call" in page
    ]
    assert len(on_call) == 1
    other = manager if on_call == ["operator"] else content
    assert "Your next shift" in other and "Payments primary" in other


def test_member_without_organization_gets_a_home_and_no_settings(client, db):
    client.force_login(UserFactory())

    home = client.get("/")
    assert home.status_code == 200
    assert b"not a member of any organization" in home.content
    assert client.get("/settings/members/")["Location"] == "/"
    assert client.get("/settings/profile/").status_code == 200


def test_home_queries_do_not_grow_with_incidents(client_as, django_assert_max_num_queries, open_incident):
    client = client_as("manager")
    open_incident("First")
    with django_assert_max_num_queries(60) as captured:
        client.get("/")
    few = len(captured)
    for n in range(8):
        open_incident(f"Another {n}")
    with django_assert_max_num_queries(few):
        client.get("/")
