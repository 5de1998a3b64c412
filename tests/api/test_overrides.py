"""``/api/v1/overrides/`` and ``/api/v1/swaps/``: proposals waiting for an answer, accepted or
declined by the person asked (or by a manager on their behalf), through the services the pages use.
Status codes, the rows afterwards, who is on call, and the ledger entries."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications import oncall
from notifications.models import CoverStatus, ScheduleOverride, ShiftSwap
from notifications.services.overrides import SWAP, cover_create
from tests.accounts.factories import MembershipFactory
from tests.ledger import entries
from tests.notifications.factories import make_schedule

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


@pytest.fixture
def rota(org, team, users):
    """operator on call all the time."""
    return make_schedule(org, team, layers=[{"participants": [users["operator"]]}])


@pytest.fixture
def window():
    start = timezone.now().replace(microsecond=0) + timedelta(hours=1)
    return {"starts_at": start, "ends_at": start + timedelta(hours=4)}


@pytest.fixture
def proposed(api_as, rota, users, window):
    """operator hands their shifts to manager through the API: a proposal, waiting for manager."""
    payload = {
        "user": users["manager"].pk,
        "replaces": users["operator"].pk,
        "starts_at": window["starts_at"].isoformat(),
        "ends_at": window["ends_at"].isoformat(),
    }
    response = api_as("operator").post(f"/api/v1/schedules/{rota.pk}/overrides/", payload, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["status"] == CoverStatus.PROPOSED
    return ScheduleOverride.objects.get(pk=response.json()["id"])


def on_call(rota, window):
    return oncall.oncall_at(oncall.snapshot(rota), window["starts_at"] + timedelta(minutes=1))


def ids(response):
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_proposals_awaiting_me(api_as, proposed):
    waiting = "/api/v1/overrides/?awaiting_me=true"
    assert ids(api_as("manager").get(waiting)) == [proposed.pk]
    assert ids(api_as("operator").get(waiting)) == []  # the author waits for nobody's answer but theirs
    assert ids(api_as("admin").get(waiting)) == []
    assert ids(api_as("viewer").get("/api/v1/overrides/?status=proposed")) == [proposed.pk]
    assert ids(api_as("viewer").get("/api/v1/overrides/?status=active")) == []
    assert ids(api_as("outsider").get("/api/v1/overrides/")) == []
    body = api_as("manager").get(f"/api/v1/overrides/{proposed.pk}/").json()
    assert body["status"] == "proposed" and body["schedule"] == proposed.schedule_id


def test_the_person_asked_accepts(api_as, proposed, rota, users, window):
    response = api_as("manager").post(f"/api/v1/overrides/{proposed.pk}/accept/")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "active"
    proposed.refresh_from_db()
    assert proposed.status == CoverStatus.ACTIVE
    assert on_call(rota, window) == users["manager"].pk
    assert entries("schedule.override_accepted", target=rota).get().data == {"override": proposed.pk}


def test_accepting_again_is_a_conflict(api_as, proposed, rota):
    manager = api_as("manager")
    assert manager.post(f"/api/v1/overrides/{proposed.pk}/accept/").status_code == 200

    again = manager.post(f"/api/v1/overrides/{proposed.pk}/accept/")
    assert again.status_code == 409
    assert again["Content-Type"] == PROBLEM and again.json()["status"] == 409
    declined = manager.post(f"/api/v1/overrides/{proposed.pk}/decline/")
    assert declined.status_code == 409
    assert ScheduleOverride.objects.get(pk=proposed.pk).status == CoverStatus.ACTIVE
    assert entries("schedule.override_accepted", target=rota).count() == 1
    assert not entries("schedule.override_declined").exists()


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("operator", 403),  # the author cannot answer their own proposal
        ("admin", 403),  # a manager who is not asked answers only on_behalf
        ("viewer", 403),
        ("outsider", 404),
    ],
)
@pytest.mark.parametrize("answer", ["accept", "decline"])
def test_only_the_person_asked_answers(api_as, proposed, rota, users, window, role, expected, answer):
    response = api_as(role).post(f"/api/v1/overrides/{proposed.pk}/{answer}/")

    assert response.status_code == expected
    assert response["Content-Type"] == PROBLEM
    proposed.refresh_from_db()
    assert proposed.status == CoverStatus.PROPOSED
    assert on_call(rota, window) == users["operator"].pk
    assert not entries(prefix="schedule.override_a").exists()
    assert not entries("schedule.override_declined").exists()


def test_the_person_asked_declines_a_swap(api_as, actor_as, rota, users, window):
    swap = cover_create(
        actor=actor_as("operator"),
        schedule=rota,
        kind=SWAP,
        first_user=users["operator"],
        second_user=users["manager"],
        **window,
    )
    assert ids(api_as("manager").get("/api/v1/swaps/?awaiting_me=true")) == [swap.pk]

    response = api_as("manager").post(f"/api/v1/swaps/{swap.pk}/decline/")

    assert response.status_code == 204
    assert not ShiftSwap.objects.filter(pk=swap.pk).exists()
    assert entries("schedule.swap_declined", target=rota).get().data == {"swap": swap.pk}
    assert on_call(rota, window) == users["operator"].pk
    # Declined is gone: answering it again finds nothing.
    assert api_as("manager").post(f"/api/v1/swaps/{swap.pk}/accept/").status_code == 404


@pytest.fixture
def colleague(org, team):
    """A second operator on the team: asked by the first, with no manager role of their own."""
    user = MembershipFactory(organization=org, role="operator", user__username="operator2").user
    team.members.add(user)
    return user


def test_a_manager_answers_on_behalf_of_the_person_asked(api_as, actor_as, rota, users, window, colleague):
    swap = cover_create(
        actor=actor_as("operator"),
        schedule=rota,
        kind=SWAP,
        first_user=users["operator"],
        second_user=colleague,
        **window,
    )
    # Not a manager: on_behalf is refused.
    refused = api_as("operator").post(f"/api/v1/swaps/{swap.pk}/accept/", {"on_behalf": True}, format="json")
    assert refused.status_code == 403

    response = api_as("admin").post(f"/api/v1/swaps/{swap.pk}/accept/", {"on_behalf": True}, format="json")

    assert response.status_code == 200, response.content
    swap.refresh_from_db()
    assert swap.status == CoverStatus.ACTIVE
    assert on_call(rota, window) == colleague.pk
    entry = entries("schedule.swap_accepted", target=rota).get()
    assert entry.data == {"swap": swap.pk, "on_behalf_of": ["operator2"]}
    assert entry.actor_label.startswith("admin via token")


def test_a_taker_who_left_the_team_cannot_accept(api_as, proposed, team, users):
    team.members.remove(users["manager"])

    response = api_as("manager").post(f"/api/v1/overrides/{proposed.pk}/accept/")

    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["user"]
    assert ScheduleOverride.objects.get(pk=proposed.pk).status == CoverStatus.PROPOSED


@pytest.mark.parametrize(
    "body",
    [{"on_behalf": "perhaps"}, {"on_behalf": None}, {"accepted": True}, ["on_behalf"]],
)
def test_bad_answers_are_problems(api_as, proposed, body):
    response = api_as("manager").post(f"/api/v1/overrides/{proposed.pk}/accept/", body, format="json")

    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    assert ScheduleOverride.objects.get(pk=proposed.pk).status == CoverStatus.PROPOSED
    assert not entries("schedule.override_accepted").exists()


@pytest.mark.parametrize("query", ["status=maybe", "awaiting_me=1", "awaiting_me=", "page_size=0"])
def test_bad_filters_are_problems(api_as, proposed, query):
    response = api_as("manager").get(f"/api/v1/overrides/?{query}")

    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM


def test_the_schema_documents_the_answers(client):
    schema = client.get("/api/v1/schema/?format=json").json()
    for kind in ("overrides", "swaps"):
        accept = schema["paths"][f"/api/v1/{kind}/{{id}}/accept/"]["post"]
        assert {"200", "400", "403", "404", "409"} <= set(accept["responses"])
        assert list(accept["responses"]["409"]["content"]) == [PROBLEM]
        decline = schema["paths"][f"/api/v1/{kind}/{{id}}/decline/"]["post"]
        assert {"204", "403", "409"} <= set(decline["responses"])
        listed = schema["paths"][f"/api/v1/{kind}/"]["get"]
        assert {p["name"] for p in listed["parameters"]} >= {"status", "awaiting_me"}
