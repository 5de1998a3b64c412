"""Cover on a schedule: overrides and swaps are made and removed by one pair of services
(``cover_create`` / ``cover_delete``), with the same checks, ledger entries and refusals for both."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from notifications.models import ScheduleOverride, ShiftSwap
from notifications.services.overrides import OVERRIDE, SWAP, cover_create, cover_delete
from tests.ledger import entries
from tests.notifications.factories import make_schedule

pytestmark = pytest.mark.django_db

KINDS = [
    (OVERRIDE, ScheduleOverride, ("user", "replaces")),
    (SWAP, ShiftSwap, ("first_user", "second_user")),
]


@pytest.fixture
def rota(org, team, users):
    team.members.add(users["admin"])  # admin takes shifts here: on the team, able to acknowledge
    return make_schedule(org, team, layers=[{"participants": [users["operator"], users["manager"]]}])


@pytest.fixture
def window():
    start = timezone.now().replace(microsecond=0) + timedelta(hours=1)
    return {"starts_at": start, "ends_at": start + timedelta(hours=4)}


@pytest.mark.parametrize(("kind", "model", "fields"), KINDS)
def test_one_service_makes_and_removes_both_kinds(actor_as, users, rota, window, kind, model, fields):
    first, second = fields
    cover = cover_create(
        actor=actor_as("manager"),
        schedule=rota,
        kind=kind,
        note="n" * 300,
        **{first: users["admin"], second: users["operator"]},
        **window,
    )
    assert isinstance(cover, model)
    stored = model.objects.get(pk=cover.pk)
    assert (getattr(stored, first), getattr(stored, second)) == (users["admin"], users["operator"])
    assert (stored.starts_at, stored.ends_at) == (window["starts_at"], window["ends_at"])
    assert stored.note == "n" * 200 and stored.created_by == users["manager"]
    assert entries(f"schedule.{kind}_created", target=rota).get().data == {
        kind: cover.pk,
        first: "admin",
        second: "operator",
        "starts_at": window["starts_at"].isoformat(),
        "ends_at": window["ends_at"].isoformat(),
    }
    cover_delete(actor=actor_as("manager"), cover=cover)
    assert not model.objects.exists()
    removed = entries(f"schedule.{kind}_removed", target=rota).get().data
    assert removed == ({kind: cover.pk, "user": "admin"} if kind == OVERRIDE else {kind: cover.pk})


def test_an_override_may_cover_the_whole_range_for_nobody_in_particular(actor_as, users, rota, window):
    override = cover_create(
        actor=actor_as("manager"), schedule=rota, kind=OVERRIDE, user=users["admin"], **window
    )
    assert override.replaces is None
    assert entries("schedule.override_created").get().data["replaces"] is None


@pytest.mark.parametrize(("kind", "model", "fields"), KINDS)
def test_the_same_person_twice_is_refused(actor_as, users, rota, window, kind, model, fields):
    first, second = fields
    with pytest.raises(ValidationError) as refused:
        cover_create(
            actor=actor_as("manager"),
            schedule=rota,
            kind=kind,
            **{first: users["operator"], second: users["operator"]},
            **window,
        )
    assert set(refused.value.message_dict) == {second}
    assert not model.objects.exists() and not entries(f"schedule.{kind}_created").exists()


@pytest.mark.parametrize(("kind", "model", "fields"), KINDS)
def test_people_from_elsewhere_are_refused(actor_as, users, outsider, rota, window, kind, model, fields):
    first, second = fields
    with pytest.raises(ValidationError, match="Not members of this organization: outsider"):
        cover_create(
            actor=actor_as("manager"),
            schedule=rota,
            kind=kind,
            **{first: outsider, second: users["operator"]},
            **window,
        )
    assert not model.objects.exists()


@pytest.mark.parametrize(("kind", "model", "fields"), KINDS)
def test_team_members_arrange_their_own_cover_and_no_one_elses(
    actor_as, users, rota, window, kind, model, fields
):
    first, second = fields
    operator = actor_as("operator")  # on the schedule's team, without schedule.manage
    with pytest.raises(PermissionDenied):
        cover_create(
            actor=operator,
            schedule=rota,
            kind=kind,
            **{first: users["admin"], second: users["manager"]},
            **window,
        )
    with pytest.raises(PermissionDenied):
        cover_create(
            actor=actor_as("viewer"),
            schedule=rota,
            kind=kind,
            **{first: users["viewer"], second: users["manager"]},
            **window,
        )
    assert not model.objects.exists() and not entries(f"schedule.{kind}_created").exists()
    mine = cover_create(
        actor=operator,
        schedule=rota,
        kind=kind,
        **{first: users["operator"], second: users["manager"]},
        **window,
    )
    theirs = cover_create(
        actor=actor_as("manager"),
        schedule=rota,
        kind=kind,
        **{first: users["admin"], second: users["manager"]},
        **window,
    )
    with pytest.raises(PermissionDenied):
        cover_delete(actor=operator, cover=theirs)
    assert model.objects.filter(pk=theirs.pk).exists()
    assert not entries(f"schedule.{kind}_removed").exists()
    cover_delete(actor=operator, cover=mine)
    assert list(model.objects.values_list("pk", flat=True)) == [theirs.pk]


def test_a_kind_takes_only_its_own_people(actor_as, users, rota, window):
    with pytest.raises(TypeError):
        cover_create(
            actor=actor_as("manager"),
            schedule=rota,
            kind=SWAP,
            user=users["admin"],
            second_user=users["operator"],
            **window,
        )
    with pytest.raises(ValidationError):
        cover_create(actor=actor_as("manager"), schedule=rota, kind=SWAP, first_user=users["admin"], **window)
    assert not ShiftSwap.objects.exists()
