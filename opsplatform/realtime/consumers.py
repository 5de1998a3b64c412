"""The organization's live channel: a signed-in member receives the small events of their organization.

Events carry kinds and ids only (see ``groups``); pages re-fetch what they show through views that
check permissions, so joining the group needs membership and nothing more.
"""

from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django_otp import DEVICE_ID_SESSION_KEY, user_has_device
from django_otp.models import Device

from opsplatform.accounts.middleware import SESSION_ORGANIZATION_KEY, two_factor_required
from opsplatform.accounts.selectors import memberships_of
from opsplatform.realtime.groups import organization_group

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
    return parse_id(values[0])


def parse_id(value: str) -> int:
    """A row id from untrusted text, or -1 (which no row has).

    ``str.isdigit`` alone is not enough: "²" passes it and then fails ``int()``, and the
    Arabic-Indic digit one (U+0661) is read by ``int()`` as 1; only ASCII digits are an id. Under 19
    digits keeps it within a bigint.
    """
    if value.isascii() and value.isdigit() and len(value) < 19:
        return int(value)
    return -1


@database_sync_to_async
def _resolve(user, session, requested_id):
    """(close code, organization id): who may listen, and to which organization.

    Mirrors CurrentOrganizationMiddleware and TwoFactorGateMiddleware so the socket is never more
    permissive than the pages it feeds: an explicitly requested organization must be one of the
    user's; otherwise the session's choice, falling back to the first membership.
    """
    memberships = list(memberships_of(user))
    if not _second_factor_passed(user, session) and (
        user_has_device(user, confirmed=True) or two_factor_required(user, memberships)
    ):
        return CLOSE_UNAUTHENTICATED, None
    by_org = {m.organization_id: m for m in memberships}
    if requested_id is not None:
        return (None, requested_id) if requested_id in by_org else (CLOSE_FORBIDDEN, None)
    wanted = session.get(SESSION_ORGANIZATION_KEY)
    current = by_org.get(wanted) or (memberships[0] if memberships else None)
    if current is None:
        return CLOSE_FORBIDDEN, None
    return None, current.organization_id


class OrganizationConsumer(AsyncJsonWebsocketConsumer):
    group_name: str | None = None

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            await self._refuse(CLOSE_UNAUTHENTICATED)
            return
        requested = _requested_organization_id(self.scope)
        close_code, organization_id = await _resolve(user, self.scope["session"], requested)
        if close_code is not None:
            await self._refuse(close_code)
            return
        group_name = await self.group_for(organization_id)
        if group_name is None:
            await self._refuse(CLOSE_NOT_FOUND)
            return
        self.group_name = group_name
        await self.channel_layer.group_add(self.group_name, self.channel_name)
        await self.accept()

    async def group_for(self, organization_id: int) -> str | None:
        """The group to join once membership is settled; subclasses narrow it to one object
        (returning None when the object is not in that organization: answered as not found)."""
        return organization_group(organization_id)

    async def _refuse(self, code: int) -> None:
        # Accept, then close: a handshake refused outright reaches the browser as a bare 1006, and
        # the client could not tell "sign in again" from a network failure.
        await self.accept()
        await self.close(code=code)

    async def disconnect(self, code):
        if self.group_name is not None:
            await self.channel_layer.group_discard(self.group_name, self.channel_name)

    async def receive_json(self, content, **kwargs):
        # The channel is one-way; whatever a client sends is ignored.
        return

    async def realtime_event(self, message):
        await self.send_json(message["event"])
