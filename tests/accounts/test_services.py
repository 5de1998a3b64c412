"""opsplatform.accounts.services: the rules every caller (pages, API, admin) relies on."""

import threading
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from audit.models import LedgerEntry
from opsplatform.accounts import selectors, services
from opsplatform.accounts.models import ApiToken, Invitation, Membership, Organization, Team
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Role
from tests.accounts.factories import MembershipFactory, OrganizationFactory, UserFactory
from tests.ledger import entries


def ledger(verb, **filters):
    return entries(verb, **filters)


def membership(org, user) -> Membership:
    return Membership.objects.get(organization=org, user=user)


# --- organizations ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_organization_create_makes_the_creator_owner(db):
    founder = UserFactory()

    org = services.organization_create(name="Initech", owner=founder)

    assert org.slug == "initech"
    assert membership(org, founder).role == Role.OWNER
    assert ledger("organization.created", organization=org).get().data == {
        "name": "Initech",
        "slug": "initech",
    }


@pytest.mark.django_db
def test_organization_update_needs_organization_manage_and_records_changes(org, actor_as):
    with pytest.raises(PermissionDenied):
        services.organization_update(actor=actor_as("manager"), organization=org, name="Nope")
    assert Organization.objects.get(pk=org.pk).name == "Acme"
    assert not ledger("organization.updated").exists()

    services.organization_update(actor=actor_as("admin"), organization=org, name="Acme Corp", time_zone="UTC")

    org.refresh_from_db()
    assert org.name == "Acme Corp"
    assert ledger("organization.updated", organization=org).get().data == {"changes": {"name": "Acme Corp"}}


@pytest.mark.django_db
def test_organization_update_rejects_unknown_fields_and_bad_time_zones(org, actor_as):
    with pytest.raises(ValidationError):
        services.organization_update(actor=actor_as("owner"), organization=org, slug="taken-over")
    with pytest.raises(ValidationError):
        services.organization_update(actor=actor_as("owner"), organization=org, time_zone="")

    org.refresh_from_db()
    assert (org.slug, org.time_zone) == ("acme", "UTC")
    assert not ledger("organization.updated").exists()


# --- memberships: last owner and role ceilings --------------------------------------------------


@pytest.mark.django_db
def test_last_owner_cannot_be_demoted_or_removed(org, users, actor_as):
    owner_membership = membership(org, users["owner"])

    with pytest.raises(ValidationError, match="last owner"):
        services.membership_change_role(actor=actor_as("owner"), membership=owner_membership, role=Role.ADMIN)
    with pytest.raises(ValidationError, match="last owner"):
        services.membership_remove(actor=actor_as("owner"), membership=owner_membership)

    owner_membership.refresh_from_db()
    assert owner_membership.role == Role.OWNER
    assert not ledger("member.role_changed").exists()
    assert not ledger("member.removed").exists()


@pytest.mark.django_db
def test_one_of_two_owners_can_be_demoted(org, users, actor_as):
    second = MembershipFactory(organization=org, role=Role.OWNER)

    services.membership_change_role(actor=actor_as("owner"), membership=second, role=Role.ADMIN)

    second.refresh_from_db()
    assert second.role == Role.ADMIN
    entry = ledger("member.role_changed", organization=org).get()
    assert entry.data == {"user": second.user.username, "from": "owner", "to": "admin"}
    assert entry.actor_id == str(users["owner"].pk)


@pytest.mark.django_db(transaction=True)
def test_two_owners_demoting_each_other_at_once_leave_one_owner():
    org = OrganizationFactory()
    first = MembershipFactory(organization=org, role=Role.OWNER)
    second = MembershipFactory(organization=org, role=Role.OWNER)
    barrier = threading.Barrier(2)
    outcomes = {}

    def demote(by: Membership, target: Membership):
        try:
            barrier.wait(timeout=10)
            services.membership_change_role(
                actor=Actor.for_member(by.user, org, role=Role.OWNER), membership=target, role=Role.ADMIN
            )
            outcomes[target.pk] = "demoted"
        except ValidationError:
            outcomes[target.pk] = "refused"
        finally:
            connection.close()

    threads = [
        threading.Thread(target=demote, args=(first, second)),
        threading.Thread(target=demote, args=(second, first)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes.values()) == ["demoted", "refused"]
    assert Membership.objects.filter(organization=org, role=Role.OWNER).count() == 1
    assert LedgerEntry.objects.filter(organization=org, verb="member.role_changed").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("actor_role", "target_role", "new_role"),
    [
        ("admin", "viewer", "owner"),  # no promoting above oneself
        ("admin", "owner", "admin"),  # no touching owners without member.manage_owners
        ("manager", "viewer", "operator"),  # no member.manage at all
        ("operator", "viewer", "operator"),
        ("viewer", "operator", "viewer"),
    ],
)
def test_role_ceilings(org, actor_as, actor_role, target_role, new_role):
    target = MembershipFactory(organization=org, role=target_role)

    with pytest.raises(PermissionDenied):
        services.membership_change_role(actor=actor_as(actor_role), membership=target, role=new_role)

    target.refresh_from_db()
    assert target.role == target_role
    assert not ledger("member.role_changed").exists()


@pytest.mark.django_db
def test_unknown_role_is_a_validation_error(org, users, actor_as):
    with pytest.raises(ValidationError):
        services.membership_change_role(
            actor=actor_as("owner"), membership=membership(org, users["viewer"]), role="god"
        )


@pytest.mark.django_db
def test_removing_a_member_revokes_their_tokens_and_team_seats(org, users, team, actor_as):
    operator = users["operator"]
    token = services.api_token_create(actor=actor_as("operator"), name="ci").token

    services.membership_remove(actor=actor_as("admin"), membership=membership(org, operator))

    assert not Membership.objects.filter(organization=org, user=operator).exists()
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert not team.members.filter(pk=operator.pk).exists()
    assert ledger("member.removed", organization=org).get().data == {"user": "operator", "role": "operator"}


@pytest.mark.django_db
def test_admin_cannot_remove_an_owner(org, users, actor_as):
    with pytest.raises(PermissionDenied):
        services.membership_remove(actor=actor_as("admin"), membership=membership(org, users["owner"]))
    assert Membership.objects.filter(organization=org, user=users["owner"]).exists()
    assert not ledger("member.removed").exists()


# --- invitations --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_invitation_create_stores_only_a_digest(org, actor_as):
    issued = services.invitation_create(
        actor=actor_as("admin"), email=" New@Example.TEST ", role=Role.OPERATOR
    )

    invitation = Invitation.objects.get(pk=issued.invitation.pk)
    assert invitation.email == "new@example.test"
    assert invitation.token_hash == services.digest(issued.token)
    assert issued.token not in invitation.token_hash
    assert issued.path == f"/invitations/{issued.token}/"
    assert ledger("invitation.created", organization=org).get().data == {
        "email": "new@example.test",
        "role": "operator",
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("actor_role", "role"), [("admin", "owner"), ("manager", "viewer"), ("viewer", "viewer")]
)
def test_invitation_role_ceiling(org, actor_as, actor_role, role):
    with pytest.raises(PermissionDenied):
        services.invitation_create(actor=actor_as(actor_role), email="x@example.test", role=role)
    assert not Invitation.objects.exists()
    assert not ledger("invitation.created").exists()


@pytest.mark.django_db
def test_new_invitation_replaces_the_pending_one(org, actor_as):
    first = services.invitation_create(actor=actor_as("admin"), email="x@example.test", role=Role.VIEWER)
    second = services.invitation_create(actor=actor_as("admin"), email="x@example.test", role=Role.OPERATOR)

    first.invitation.refresh_from_db()
    assert first.invitation.status == "revoked"
    assert selectors.invitation_by_token(second.token).status == "pending"


@pytest.mark.django_db
def test_accepting_creates_the_membership_once(org, actor_as):
    issued = services.invitation_create(
        actor=actor_as("admin"), email="joiner@example.test", role=Role.MANAGER
    )
    joiner = UserFactory(email="Joiner@Example.test")

    created = services.invitation_accept(token=issued.token, user=joiner)

    assert created.role == Role.MANAGER
    issued.invitation.refresh_from_db()
    assert (issued.invitation.accepted_by, issued.invitation.status) == (joiner, "accepted")
    entry = ledger("invitation.accepted", organization=org).get()
    assert entry.actor_id == str(joiner.pk)
    with pytest.raises(ValidationError):
        services.invitation_accept(token=issued.token, user=joiner)
    assert Membership.objects.filter(organization=org, user=joiner).count() == 1


@pytest.mark.django_db
def test_expired_invitation_cannot_be_accepted(org, actor_as):
    issued = services.invitation_create(actor=actor_as("admin"), email="late@example.test", role=Role.VIEWER)
    Invitation.objects.filter(pk=issued.invitation.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )

    with pytest.raises(ValidationError, match="invalid, expired or already used"):
        services.invitation_accept(token=issued.token, user=UserFactory(email="late@example.test"))
    assert not ledger("invitation.accepted").exists()


@pytest.mark.django_db
def test_invitation_for_another_address_cannot_be_accepted(org, actor_as):
    issued = services.invitation_create(actor=actor_as("admin"), email="right@example.test", role=Role.VIEWER)

    with pytest.raises(ValidationError, match="another e-mail address"):
        services.invitation_accept(token=issued.token, user=UserFactory(email="wrong@example.test"))
    assert selectors.invitation_by_token(issued.token).status == "pending"


@pytest.mark.django_db
def test_revoked_invitation_cannot_be_accepted(org, actor_as):
    issued = services.invitation_create(actor=actor_as("admin"), email="gone@example.test", role=Role.VIEWER)

    services.invitation_revoke(actor=actor_as("admin"), invitation=issued.invitation)
    services.invitation_revoke(
        actor=actor_as("admin"), invitation=issued.invitation
    )  # a no-op the second time

    assert ledger("invitation.revoked", organization=org).count() == 1
    with pytest.raises(ValidationError):
        services.invitation_accept(token=issued.token, user=UserFactory(email="gone@example.test"))


@pytest.mark.django_db
def test_revoking_needs_member_invite(org, actor_as):
    issued = services.invitation_create(actor=actor_as("admin"), email="x@example.test", role=Role.VIEWER)

    with pytest.raises(PermissionDenied):
        services.invitation_revoke(actor=actor_as("manager"), invitation=issued.invitation)
    assert selectors.invitation_by_token(issued.token).status == "pending"
    assert not ledger("invitation.revoked").exists()


# --- API tokens ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_token_create_lookup_and_revoke(org, users, actor_as):
    issued = services.api_token_create(actor=actor_as("operator"), name=" deploy ")

    token = ApiToken.objects.get(pk=issued.token.pk)
    assert token.name == "deploy"
    assert issued.secret.startswith(services.TOKEN_PREFIX)
    assert token.key_hash == services.digest(issued.secret)
    assert not ApiToken.objects.filter(key_hash__contains=issued.secret[5:]).exists()
    assert selectors.api_token_lookup(issued.secret) == token
    assert selectors.api_token_lookup(issued.secret + "x") is None
    assert ledger("api_token.created", organization=org).get().data == {"name": "deploy", "role": ""}

    services.api_token_revoke(actor=actor_as("operator"), token=token)

    token.refresh_from_db()
    assert token.revoked_at is not None
    assert selectors.api_token_lookup(issued.secret) is None
    assert ledger("api_token.revoked", organization=org).count() == 1


@pytest.mark.django_db
def test_expired_token_and_inactive_owner_are_not_found(org, users, actor_as):
    expired = services.api_token_create(
        actor=actor_as("operator"), name="old", expires_at=timezone.now() - timedelta(seconds=1)
    )
    inactive = services.api_token_create(actor=actor_as("viewer"), name="gone")
    users["viewer"].is_active = False
    users["viewer"].save(update_fields=["is_active"])

    assert selectors.api_token_lookup(expired.secret) is None
    assert selectors.api_token_lookup(inactive.secret) is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "allowed"), [("admin", True), ("owner", True), ("manager", False), ("viewer", False)]
)
def test_revoking_someone_elses_token_needs_token_manage(org, actor_as, role, allowed):
    token = services.api_token_create(actor=actor_as("operator"), name="theirs").token

    if allowed:
        services.api_token_revoke(actor=actor_as(role), token=token)
    else:
        with pytest.raises(PermissionDenied):
            services.api_token_revoke(actor=actor_as(role), token=token)

    token.refresh_from_db()
    assert (token.revoked_at is not None) is allowed
    assert ledger("api_token.revoked").exists() is allowed


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "ceiling", "ok"), [("operator", "viewer", True), ("operator", "manager", False)]
)
def test_token_role_ceiling_cannot_exceed_its_creator(org, actor_as, role, ceiling, ok):
    if ok:
        assert services.api_token_create(actor=actor_as(role), name="t", role=ceiling).token.role == ceiling
    else:
        with pytest.raises(ValidationError):
            services.api_token_create(actor=actor_as(role), name="t", role=ceiling)
        assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_token_needs_a_name(org, actor_as):
    with pytest.raises(ValidationError):
        services.api_token_create(actor=actor_as("operator"), name="   ")


# --- teams --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_team_create_update_delete_write_ledger_entries(org, actor_as):
    team = services.team_create(actor=actor_as("manager"), name="On Call", time_zone="Europe/Berlin")
    assert team.slug == "on-call"

    services.team_update(actor=actor_as("manager"), team=team, description="Night shift")
    team.refresh_from_db()
    assert team.description == "Night shift"

    services.team_delete(actor=actor_as("manager"), team=team)
    assert not Team.objects.filter(pk=team.pk).exists()
    verbs = list(LedgerEntry.objects.filter(organization=org).values_list("verb", flat=True))
    assert verbs == ["team.created", "team.updated", "team.deleted"]


@pytest.mark.django_db
def test_team_writes_need_team_manage(org, team, actor_as):
    with pytest.raises(PermissionDenied):
        services.team_create(actor=actor_as("operator"), name="Rogue")
    with pytest.raises(PermissionDenied):
        services.team_update(actor=actor_as("operator"), team=team, name="Renamed")
    with pytest.raises(PermissionDenied):
        services.team_delete(actor=actor_as("viewer"), team=team)
    assert Team.objects.get(pk=team.pk).name == "Payments"
    assert not entries(prefix="team.").exists()


@pytest.mark.django_db
def test_team_members_must_be_members_of_the_organization(org, users, team, outsider, actor_as):
    with pytest.raises(ValidationError, match="outsider"):
        services.team_set_members(actor=actor_as("manager"), team=team, users=[users["viewer"], outsider])
    assert set(team.members.values_list("username", flat=True)) == {"operator", "manager"}

    services.team_set_members(actor=actor_as("manager"), team=team, users=[users["viewer"]])

    assert set(team.members.values_list("username", flat=True)) == {"viewer"}
    entry = ledger("team.members_changed", organization=org).get()
    assert entry.data == {"added": ["viewer"], "removed": ["manager", "operator"]}


@pytest.mark.django_db
def test_setting_the_same_members_writes_nothing(org, users, team, actor_as):
    services.team_set_members(
        actor=actor_as("manager"), team=team, users=[users["operator"], users["manager"]]
    )

    assert not ledger("team.members_changed").exists()


# --- people (platform chain) --------------------------------------------------------------------


@pytest.mark.django_db
def test_profile_changes_are_self_service_only(org, users, actor_as):
    with pytest.raises(PermissionDenied):
        services.user_update_profile(actor=actor_as("owner"), user=users["viewer"], display_name="Hijacked")
    users["viewer"].refresh_from_db()
    assert users["viewer"].display_name != "Hijacked"
    assert not ledger("user.profile_updated").exists()

    services.user_update_profile(actor=actor_as("viewer"), user=users["viewer"], display_name="Vee")

    users["viewer"].refresh_from_db()
    assert users["viewer"].display_name == "Vee"
    entry = ledger("user.profile_updated").get()
    assert entry.organization_id is None
    assert entry.data == {"fields": ["display_name"]}


@pytest.mark.django_db
def test_password_change_validates_and_records(org, users, actor_as):
    with pytest.raises(ValidationError):
        services.user_change_password(actor=actor_as("viewer"), user=users["viewer"], password="123")

    services.user_change_password(
        actor=actor_as("viewer"), user=users["viewer"], password="new-and-long-enough"
    )

    users["viewer"].refresh_from_db()
    assert users["viewer"].check_password("new-and-long-enough")
    assert ledger("user.password_changed", organization=None).count() == 1


@pytest.mark.django_db
def test_sign_up_is_all_or_nothing(org, actor_as):
    issued = services.invitation_create(actor=actor_as("admin"), email="fresh@example.test", role=Role.VIEWER)

    with pytest.raises(ValidationError):
        services.invitation_sign_up(token=issued.token, username="fresh", password="short")
    assert not Membership.objects.filter(user__username="fresh").exists()

    created = services.invitation_sign_up(
        token=issued.token, username="fresh", password="long-enough-secret-9"
    )

    assert created.organization == org
    assert created.user.email == "fresh@example.test"
    assert ledger("user.registered", organization=None).count() == 1
    assert ledger("invitation.accepted", organization=org).count() == 1


@pytest.mark.django_db
def test_every_organization_has_its_own_chain(org, other_org, actor_as, outsider):
    services.team_create(actor=actor_as("manager"), name="A")
    services.team_create(actor=Actor.for_member(outsider, other_org), name="B")

    assert ledger("team.created", organization=org).get().sequence == 1
    assert ledger("team.created", organization=other_org).get().sequence == 1
    assert Organization.objects.count() == 2
