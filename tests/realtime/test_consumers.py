"""The organization's websocket: members hear their organization's events after commit, nobody else does.

Runs the real ASGI stack (origin check, session auth) against the real Redis channel layer.
"""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import transaction
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.services import record
from opsplatform.core.actors import Actor
from opsplatform.realtime.consumers import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED
from tests.accounts.factories import MembershipFactory
from tests.realtime.sockets import PATIENCE, QUIET, closed_with, connected

pytestmark = pytest.mark.django_db(transaction=True)

append = database_sync_to_async(record)


@pytest.fixture
def people(users, outsider):
    return {**users, "outsider": outsider}


async def test_member_receives_their_organizations_event_and_outsider_nothing(
    socket, session_of, org, people, team
):
    member = await connected(socket(await session_of(people["manager"])))
    stranger = await connected(socket(await session_of(people["outsider"])))

    entry = await append(
        actor=Actor.for_member(people["manager"], org, role="manager"), verb="team.updated", target=team
    )

    event = await member.receive_json_from(timeout=PATIENCE)
    assert event == {
        "kind": "ledger",
        "id": entry.pk,
        "sequence": entry.sequence,
        "verb": "team.updated",
        "target_type": "accounts.team",
        "target_id": str(team.pk),
    }
    assert await stranger.receive_nothing(timeout=QUIET)
    await member.disconnect()
    await stranger.disconnect()


async def test_outsider_hears_their_own_organization(socket, session_of, other_org, outsider):
    stranger = await connected(socket(await session_of(outsider)))

    await append(actor=Actor.system("job"), verb="globex.thing", organization=other_org)

    assert (await stranger.receive_json_from(timeout=PATIENCE))["verb"] == "globex.thing"
    await stranger.disconnect()


async def test_rolled_back_change_sends_nothing(socket, session_of, org, users):
    member = await connected(socket(await session_of(users["manager"])))

    @database_sync_to_async
    def failed_change():
        with transaction.atomic():
            record(actor=Actor.system("job"), verb="test.lost", organization=org)
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        await failed_change()

    assert await member.receive_nothing(timeout=QUIET)
    await member.disconnect()


async def test_anonymous_is_closed_4401(socket, org):
    assert await closed_with(socket()) == CLOSE_UNAUTHENTICATED


async def test_forged_session_cookie_is_closed_4401(socket, org):
    assert await closed_with(socket("not-a-real-session")) == CLOSE_UNAUTHENTICATED


async def test_requesting_another_organization_is_closed_4403(socket, session_of, users, other_org):
    communicator = socket(await session_of(users["owner"]), query=f"organization={other_org.pk}")

    assert await closed_with(communicator) == CLOSE_FORBIDDEN


# Unicode digits pass str.isdigit() but not int() ("²"), or int() reads them as a number
# (U+0661, Arabic-Indic one); a number past bigint would fail in the database. Each names no
# organization: refused, never a crash.
@pytest.mark.parametrize(
    "value", ["acme", "%C2%B2", "%D9%A1", "%EF%BC%91", "99999999999999999999", "-1", "1.0"]
)
async def test_malformed_organization_parameter_is_closed_4403(socket, session_of, users, value):
    communicator = socket(await session_of(users["owner"]), query=f"organization={value}")

    assert await closed_with(communicator) == CLOSE_FORBIDDEN


async def test_user_without_organization_is_closed_4403(socket, session_of, user_factory):
    loner = await database_sync_to_async(user_factory)()

    assert await closed_with(socket(await session_of(loner))) == CLOSE_FORBIDDEN


async def test_query_parameter_and_session_pick_among_the_users_organizations(
    socket, session_of, org, other_org, outsider
):
    # The outsider also joins Acme: each socket listens to the organization it asked for.
    await database_sync_to_async(MembershipFactory)(organization=org, user=outsider, role="manager")
    by_query = await connected(socket(await session_of(outsider), query=f"organization={org.pk}"))
    by_session = await connected(socket(await session_of(outsider, organization_id=other_org.pk)))

    await append(actor=Actor.system("job"), verb="acme.thing", organization=org)

    assert (await by_query.receive_json_from(timeout=PATIENCE))["verb"] == "acme.thing"
    assert await by_session.receive_nothing(timeout=QUIET)
    await by_query.disconnect()
    await by_session.disconnect()


@pytest.fixture
def totp_user(users):
    user = users["manager"]
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return user, device


async def test_session_that_skipped_its_second_factor_is_closed_4401(socket, session_of, totp_user):
    user, _ = totp_user

    assert await closed_with(socket(await session_of(user))) == CLOSE_UNAUTHENTICATED


async def test_session_verified_with_the_second_factor_connects(socket, session_of, totp_user, org):
    user, device = totp_user
    member = await connected(socket(await session_of(user, **{DEVICE_ID_SESSION_KEY: device.persistent_id})))

    await append(actor=Actor.system("job"), verb="test.verified", organization=org)

    assert (await member.receive_json_from(timeout=PATIENCE))["verb"] == "test.verified"
    await member.disconnect()


async def test_another_users_device_does_not_verify_a_session(socket, session_of, totp_user, users):
    _, device = totp_user
    other = users["viewer"]
    await database_sync_to_async(TOTPDevice.objects.create)(user=other, name="own", confirmed=True)

    session = await session_of(other, **{DEVICE_ID_SESSION_KEY: device.persistent_id})

    assert await closed_with(socket(session)) == CLOSE_UNAUTHENTICATED


async def test_enrollment_required_but_missing_is_closed_4401(socket, session_of, org, users):
    org.require_2fa_for_admins = True
    await database_sync_to_async(org.save)(update_fields=["require_2fa_for_admins"])

    assert await closed_with(socket(await session_of(users["admin"]))) == CLOSE_UNAUTHENTICATED


async def test_wrong_origin_is_refused(application, session_of, users):
    cookie = f"{settings.SESSION_COOKIE_NAME}={await session_of(users['owner'])}"
    communicator = WebsocketCommunicator(
        application,
        "/ws/organization/",
        headers=[(b"origin", b"http://evil.example"), (b"cookie", cookie.encode())],
    )

    accepted, _ = await communicator.connect(timeout=PATIENCE)

    assert not accepted
