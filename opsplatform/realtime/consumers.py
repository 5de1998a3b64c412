"""The organization's live channel: a signed-in member receives the small events of their organization.

Events carry kinds and ids only (see ``groups``); pages re-fetch what they show through views that
check permissions. Access is checked at connect and again whenever it may have ended (a removal,
a role change, a deactivation, a logout, a new password: ``groups.recheck_access_after_commit``),
and ledger entries reach only the sockets of roles that may read the audit log.
"""

from types import SimpleNamespace
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.contrib.auth import get_user
from django.utils.module_loading import import_string
from django_otp import DEVICE_ID_SESSION_KEY, user_has_device
from django_otp.models import Device

from opsplatform.accounts.middleware import SESSION_ORGANIZATION_KEY, two_factor_required
from opsplatform.accounts.selectors import memberships_of
from opsplatform.core.capabilities import Capability, role_grants
from opsplatform.core.ids import parse_id
from opsplatform.realtime.groups import organization_group, person_group

# Application close codes (4000-4999), mirroring HTTP 401 and 403.
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404


def _second_factor_passed(user, session) -> bool:
    """The same answer django-otp's middleware gives a page request of this session."""
    persistent_id = session.get(DEVICE_ID_SESSION_KEY)
    if not persistent_id:
        return False
    device = Device.from_persistent_id(persistent_id)
    return device is not None and device.user_id == user.pk and device.confirmed


def _requested_organization_id(scope) -> int | None:
    """``?organization=<id>``; a malformed value names no organization anyone belongs to (-1)."""
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("organization")
    if not values:
        return None
    parsed = parse_id(values[0])
    return -1 if parsed is None else parsed


def _resolve_sync(user, session, requested_id):
    """(close code, organization id, role): who may listen, to which organization, as what.

    Mirrors CurrentOrganizationMiddleware and TwoFactorGateMiddleware so the socket is never more
    permissive than the pages it feeds: an explicitly requested organization must be one of the
    user's; otherwise the session's choice, falling back to the first membership.
    """
    memberships = list(memberships_of(user))
    if not _second_factor_passed(user, session) and (
        user_has_device(user, confirmed=True) or two_factor_required(user, memberships)
    ):
        return CLOSE_UNAUTHENTICATED, None, None
    by_org = {m.organization_id: m for m in memberships}
    if requested_id is not None:
        current = by_org.get(requested_id)
        return (None, requested_id, current.role) if current else (CLOSE_FORBIDDEN, None, None)
    wanted = session.get(SESSION_ORGANIZATION_KEY)
    current = by_org.get(wanted) or (memberships[0] if memberships else None)
    if current is None:
        return CLOSE_FORBIDDEN, None, None
    return None, current.organization_id, current.role


_resolve = database_sync_to_async(_resolve_sync)


@database_sync_to_async
def _recheck(session_key: str | None, user_id: int, organization_id: int):
    """``_resolve`` again from the stored session, not the copy the socket loaded at connect.

    ``get_user`` answers anonymous when the session was flushed (logout), its password hash is
    stale (a new password ends the other sessions) or the person is inactive; the membership
    and the second factor are then checked for the organization this socket joined.
    """
    session = import_string(f"{settings.SESSION_ENGINE}.SessionStore")(session_key)
    user = get_user(SimpleNamespace(session=session))
    if not user.is_authenticated or user.pk != user_id or not user.is_active:
        return CLOSE_UNAUTHENTICATED, None, None
    return _resolve_sync(user, session, organization_id)


class OrganizationConsumer(AsyncJsonWebsocketConsumer):
    group_name: str | None = None

    async def connect(self):
        self.groups_joined: list[str] = []
        self.may_read_ledger = False
        self.closed = False
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            await self._refuse(CLOSE_UNAUTHENTICATED)
            return
        # The person's group before the access check: a revocation committed while this socket
        # is being checked still reaches it, and re-checks.
        await self._join(person_group(user.pk))
        requested = _requested_organization_id(self.scope)
        close_code, organization_id, role = await _resolve(user, self.scope["session"], requested)
        group_name = await self.group_for(organization_id) if close_code is None else None
        if close_code is None and group_name is None:
            close_code = CLOSE_NOT_FOUND
        if close_code is not None:
            await self._leave_groups()
            await self._refuse(close_code)
            return
        self.user_id = user.pk
        self.organization_id = organization_id
        self.session_key = self.scope["session"].session_key
        self.may_read_ledger = role_grants(role, Capability.AUDIT_VIEW)
        self.group_name = group_name
        await self._join(group_name)
        await self.accept()

    async def _join(self, group: str) -> None:
        await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined.append(group)

    async def group_for(self, organization_id: int) -> str | None:
        """The group to join once membership is settled; subclasses narrow it to one object
        (returning None when the object is not in that organization: answered as not found)."""
        return organization_group(organization_id)

    async def _refuse(self, code: int) -> None:
        # Accept, then close: a handshake refused outright reaches the browser as a bare 1006, and
        # the client could not tell "sign in again" from a network failure.
        self.closed = True
        await self.accept()
        await self.close(code=code)

    async def _leave_groups(self) -> None:
        groups, self.groups_joined = getattr(self, "groups_joined", []), []
        for group in groups:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def disconnect(self, code):
        await self._leave_groups()

    async def receive_json(self, content, **kwargs):
        # The channel is one-way; whatever a client sends is ignored.
        return

    async def realtime_event(self, message):
        if self.closed:
            return
        event = message["event"]
        if event.get("kind") == "ledger" and not self.may_read_ledger:
            # The organization group carries every event; the audit log is for audit readers only.
            return
        await self.send_json(event)

    async def realtime_recheck(self, message):
        """Access may have ended: close if it has, else follow the (possibly new) role."""
        if self.closed:
            return
        close_code, _, role = await _recheck(self.session_key, self.user_id, self.organization_id)
        if close_code is None:
            self.may_read_ledger = role_grants(role, Capability.AUDIT_VIEW)
            return
        # Leave the groups before closing: messages already queued for this channel are dropped
        # by the flag, and nothing new is routed here.
        self.closed = True
        await self._leave_groups()
        await self.close(code=close_code)
