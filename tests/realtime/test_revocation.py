"""A socket's access is re-checked when it may have ended, not only at connect.

Removing a member, changing a role, deactivating a person, changing a password and logging out
send a "re-check" to the person's sockets after commit; each socket closes when its access is gone.
Ledger entries reach only the sockets of roles that may read the audit log. Real ASGI stack, real
Redis channel layer.
"""

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.test import Client

from audit.services import record
from opsplatform.accounts import services
from opsplatform.core.actors import Actor, ActorKind
from opsplatform.realtime.consumers import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED
from opsplatform.realtime.groups import organization_group, publish_after_commit
from tests.accounts.factories import PASSWORD, UserFactory
from tests.realtime.sockets import PATIENCE, QUIET, close_code, closed_with, connected

pytestmark = pytest.mark.django_db(transaction=True)

append = database_sync_to_async(record)
INCIDENT_EVENT = {"kind": "incident", "id": 1, "verb": "incident.triggered", "status": "triggered"}


@database_sync_to_async
def publish_incident_event(org):
    publish_after_commit(organization_group(org.pk), INCIDENT_EVENT)


@database_sync_to_async
def remove(org, actor_role, users, who):
    membership = users[who].memberships.get(organization=org)
    services.membership_remove(actor=Actor.for_member(users[actor_role], org), membership=membership)


@database_sync_to_async
def change_role(org, users, who, role):
    membership = users[who].memberships.get(organization=org)
    services.membership_change_role(
        actor=Actor.for_member(users["admin"], org), membership=membership, role=role
    )


async def still_open(socket, org) -> bool:
    """The socket still hears its organization: an incident event reaches every member."""
    await publish_incident_event(org)
    return await socket.receive_json_from(timeout=PATIENCE) == INCIDENT_EVENT


# --- membership -----------------------------------------------------------------------------------


async def test_a_removed_member_is_closed_and_hears_nothing_more(socket, session_of, org, users, outsider):
    removed = await connected(socket(await session_of(users["manager"])))
    colleague = await connected(socket(await session_of(users["operator"])))
    stranger = await connected(socket(await session_of(outsider)))

    await remove(org, "admin", users, "manager")

    # The close comes first: not even the ledger entry of their own removal gets through.
    assert await close_code(removed) == CLOSE_FORBIDDEN
    await publish_incident_event(org)
    assert await removed.receive_nothing(timeout=QUIET)
    assert await colleague.receive_json_from(timeout=PATIENCE) == INCIDENT_EVENT
    assert await stranger.receive_nothing(timeout=QUIET)
    for s in (colleague, stranger):
        await s.disconnect()


async def test_a_member_who_leaves_is_closed(socket, session_of, org, users):
    leaving = await connected(socket(await session_of(users["operator"])))

    await remove(org, "operator", users, "operator")

    assert await close_code(leaving) == CLOSE_FORBIDDEN


async def test_a_demoted_manager_stays_connected_but_stops_hearing_the_ledger(socket, session_of, org, users):
    manager = await connected(socket(await session_of(users["manager"])))

    await change_role(org, users, "manager", "viewer")
    await append(actor=Actor.system("job"), verb="test.after_demotion", organization=org)

    assert await still_open(manager, org)  # the role-change entry itself was not heard either
    assert await manager.receive_nothing(timeout=QUIET)
    await manager.disconnect()


async def test_a_promoted_viewer_starts_hearing_the_ledger(socket, session_of, org, users):
    viewer = await connected(socket(await session_of(users["viewer"])))

    await change_role(org, users, "viewer", "manager")
    await append(actor=Actor.system("job"), verb="test.after_promotion", organization=org)

    assert (await viewer.receive_json_from(timeout=PATIENCE))["verb"] == "member.role_changed"
    assert (await viewer.receive_json_from(timeout=PATIENCE))["verb"] == "test.after_promotion"
    await viewer.disconnect()


# --- the person's account and session ------------------------------------------------------------


async def test_a_deactivated_user_is_closed(socket, session_of, org, users):
    member = await connected(socket(await session_of(users["operator"])))

    @database_sync_to_async
    def deactivate():
        staff = UserFactory(is_superuser=True, is_staff=True)
        actor = Actor(kind=ActorKind.USER, organization=None, user=staff)
        services.user_set_active(actor=actor, user=users["operator"], is_active=False)

    await deactivate()

    assert await close_code(member) == CLOSE_UNAUTHENTICATED
    await publish_incident_event(org)
    assert await member.receive_nothing(timeout=QUIET)


@database_sync_to_async
def browser_of(user) -> tuple[Client, str]:
    browser = Client()
    browser.force_login(user)
    return browser, browser.cookies[settings.SESSION_COOKIE_NAME].value


async def test_a_logged_out_session_is_closed_and_the_persons_other_sessions_stay(socket, org, users):
    laptop, laptop_key = await browser_of(users["operator"])
    _, phone_key = await browser_of(users["operator"])
    on_laptop = await connected(socket(laptop_key))
    on_phone = await connected(socket(phone_key))

    response = await database_sync_to_async(laptop.post)("/accounts/logout/")

    assert response.status_code == 302
    assert await close_code(on_laptop) == CLOSE_UNAUTHENTICATED
    assert await still_open(on_phone, org)
    await on_phone.disconnect()


async def test_a_password_change_closes_the_persons_other_sessions(socket, org, users):
    here, here_key = await browser_of(users["operator"])
    _, elsewhere_key = await browser_of(users["operator"])
    on_here = await connected(socket(here_key))
    on_elsewhere = await connected(socket(elsewhere_key))

    response = await database_sync_to_async(here.post)(
        "/settings/profile/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "a-new-long-pass-phrase",
            "new_password2": "a-new-long-pass-phrase",
        },
    )

    assert response.status_code == 302
    assert await close_code(on_elsewhere) == CLOSE_UNAUTHENTICATED
    assert await closed_with(socket(elsewhere_key)) == CLOSE_UNAUTHENTICATED
    # This browser's session got a new key with the new password: its old socket closes too, and
    # the page reconnects (as it does after any close) with the new cookie.
    assert await close_code(on_here) == CLOSE_UNAUTHENTICATED
    renewed = await connected(socket(here.cookies[settings.SESSION_COOKIE_NAME].value))
    assert await still_open(renewed, org)
    await renewed.disconnect()


# --- who hears the ledger --------------------------------------------------------------------------


async def test_ledger_entries_reach_audit_readers_only(socket, session_of, org, users, outsider):
    sockets = {role: await connected(socket(await session_of(users[role]))) for role in users}
    stranger = await connected(socket(await session_of(outsider)))

    @database_sync_to_async
    def create_token():
        return services.api_token_create(actor=Actor.for_member(users["admin"], org), name="deploy bot")

    issued = await create_token()

    for role in ("owner", "admin", "manager"):
        event = await sockets[role].receive_json_from(timeout=PATIENCE)
        assert (event["kind"], event["verb"], event["target_id"]) == (
            "ledger",
            "api_token.created",
            str(issued.token.pk),
        )
    for role in ("operator", "viewer"):
        assert await sockets[role].receive_nothing(timeout=QUIET)
    await publish_incident_event(org)
    for role in ("operator", "viewer"):  # filtered, not disconnected
        assert await sockets[role].receive_json_from(timeout=PATIENCE) == INCIDENT_EVENT
    assert await stranger.receive_nothing(timeout=QUIET)
    for communicator in (*sockets.values(), stranger):
        await communicator.disconnect()
