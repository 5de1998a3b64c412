"""Who can be given shifts, and who agrees: only team members who can acknowledge take shifts, and a
member handing shifts to someone else only proposes it; it applies once that person accepts (a
manager arranges cover directly)."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from notifications import oncall
from notifications.models import CoverStatus, ScheduleOverride, ShiftSwap
from notifications.services.overrides import OVERRIDE, SWAP, cover_accept, cover_create
from tests.ledger import entries
from tests.notifications.factories import make_schedule

pytestmark = pytest.mark.django_db


@pytest.fixture
def rota(org, team, users):
    """operator on call all the time (one participant), manager on the team too."""
    return make_schedule(org, team, layers=[{"participants": [users["operator"]]}])


@pytest.fixture
def window():
    start = timezone.now().replace(microsecond=0) + timedelta(hours=1)
    return {"starts_at": start, "ends_at": start + timedelta(hours=4)}


def on_call(rota, window):
    return oncall.oncall_at(oncall.snapshot(rota), window["starts_at"] + timedelta(minutes=1))


@pytest.mark.parametrize("taker", ["viewer", "admin"])  # viewer: cannot acknowledge; admin: not on the team
@pytest.mark.parametrize("author", ["operator", "manager"])
def test_shifts_go_only_to_team_members_who_can_acknowledge(
    actor_as, team, users, rota, window, taker, author
):
    team.members.add(users["viewer"])
    with pytest.raises(ValidationError) as raised:
        cover_create(
            actor=actor_as(author),
            schedule=rota,
            kind=OVERRIDE,
            user=users[taker],
            replaces=users["operator"],
            **window,
        )
    assert "user" in raised.value.message_dict
    with pytest.raises(ValidationError):
        cover_create(
            actor=actor_as(author),
            schedule=rota,
            kind=SWAP,
            first_user=users["operator"],
            second_user=users[taker],
            **window,
        )
    assert not ScheduleOverride.objects.exists() and not ShiftSwap.objects.exists()
    assert not entries("schedule.override_created").exists() and not entries("schedule.swap_created").exists()
    assert on_call(rota, window) == users["operator"].pk


@pytest.mark.parametrize(
    ("kind", "people"), [(OVERRIDE, ("user", "replaces")), (SWAP, ("second_user", "first_user"))]
)
def test_a_member_pushing_their_shift_onto_a_colleague_only_proposes_it(
    actor_as, users, rota, window, kind, people
):
    taker, giver = people
    cover = cover_create(
        actor=actor_as("operator"),
        schedule=rota,
        kind=kind,
        **{taker: users["manager"], giver: users["operator"]},
        **window,
    )
    assert cover.status == CoverStatus.PROPOSED
    assert on_call(rota, window) == users["operator"].pk  # nothing changed yet
    with pytest.raises(PermissionDenied):
        cover_accept(actor=actor_as("operator"), cover=cover)  # not the author's to accept
    with pytest.raises(PermissionDenied):
        cover_accept(actor=actor_as("admin"), cover=cover)
    assert type(cover).objects.get(pk=cover.pk).status == CoverStatus.PROPOSED
    cover_accept(actor=actor_as("manager"), cover=cover)
    assert type(cover).objects.get(pk=cover.pk).status == CoverStatus.ACTIVE
    assert on_call(rota, window) == users["manager"].pk
    assert entries(f"schedule.{kind}_accepted", target=rota).get().data == {kind: cover.pk}


def test_taking_a_shift_yourself_or_by_a_manager_applies_at_once(actor_as, users, rota, window):
    mine = cover_create(
        actor=actor_as("manager"), schedule=rota, kind=OVERRIDE, user=users["manager"], **window
    )
    assert mine.status == CoverStatus.ACTIVE
    assert on_call(rota, window) == users["manager"].pk
    arranged = cover_create(
        actor=actor_as("manager"),
        schedule=rota,
        kind=SWAP,
        first_user=users["operator"],
        second_user=users["manager"],
        **window,
    )
    assert arranged.status == CoverStatus.ACTIVE


def test_the_colleague_accepts_a_proposed_swap_on_the_page(client_as, users, rota, window):
    operator = client_as("operator")
    response = operator.post(
        f"/oncall/schedules/{rota.pk}/swaps/",
        {
            "swap-first_user": users["operator"].pk,
            "swap-second_user": users["manager"].pk,
            "swap-starts_at": window["starts_at"].strftime("%Y-%m-%dT%H:%M"),
            "swap-ends_at": window["ends_at"].strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 302
    swap = ShiftSwap.objects.get()
    assert swap.status == CoverStatus.PROPOSED
    assert operator.post(f"/oncall/swaps/{swap.pk}/accept/").status_code == 403
    manager = client_as("manager")
    assert f"/oncall/swaps/{swap.pk}/accept/" in manager.get(f"/oncall/schedules/{rota.pk}/").content.decode()
    assert manager.post(f"/oncall/swaps/{swap.pk}/accept/").status_code == 302
    swap.refresh_from_db()
    assert swap.status == CoverStatus.ACTIVE
    assert entries("schedule.swap_accepted", target=rota).count() == 1
