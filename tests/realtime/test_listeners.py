"""The pusher sends a trip's pushes only to groups someone listens to, asked of the real channel layer
(Redis) in one round trip; an organization hears one event for a batch of its incidents."""

import time

import pytest
from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, channel_layers, get_channel_layer
from channels_redis.core import RedisChannelLayer

from incidents.models import Incident
from incidents.realtime import publish_incidents_after_commit
from opsplatform.realtime.listeners import listened
from opsplatform.realtime.pusher import Pusher, pusher


class CountingLayer(RedisChannelLayer):
    """The real layer, counting the groups it was asked to send to."""

    sent_to: list[str] = []

    async def group_send(self, group, message):
        CountingLayer.sent_to.append(group)
        await super().group_send(group, message)


@pytest.fixture
def counting_layer(settings):
    config = settings.CHANNEL_LAYERS["default"]
    settings.CHANNEL_LAYERS = {"default": {**config, "BACKEND": f"{__name__}.CountingLayer"}}
    channel_layers.backends.clear()
    CountingLayer.sent_to = []
    try:
        yield get_channel_layer()
    finally:
        channel_layers.backends.clear()


def _groups(prefix: str) -> dict[str, str]:
    names = ("watched", "empty", "expired", "left")
    return {name: f"{prefix}.{name}.{time.monotonic_ns()}" for name in names}


def test_only_groups_with_a_live_member_are_listened_to():
    layer = get_channel_layer()
    groups = _groups("listeners")
    channel = async_to_sync(layer.new_channel)()
    other = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(groups["watched"], channel)
    async_to_sync(layer.group_add)(groups["left"], other)
    async_to_sync(layer.group_discard)(groups["left"], other)

    async def expire_member():
        # A member whose last join is older than the group expiry: group_send would drop it.
        key = layer._group_key(groups["expired"])
        connection = layer.connection(layer.consistent_hash(groups["expired"]))
        await connection.zadd(key, {other: int(time.time()) - layer.group_expiry - 5})

    async_to_sync(expire_member)()
    try:
        assert async_to_sync(listened)(layer, set(groups.values())) == {groups["watched"]}
        assert async_to_sync(listened)(layer, set()) == set()
    finally:
        async_to_sync(layer.group_discard)(groups["watched"], channel)
    assert async_to_sync(listened)(layer, {groups["watched"]}) == set()


def test_a_layer_that_cannot_be_asked_gets_every_group():
    groups = {"org.1", "incident.2"}
    assert async_to_sync(listened)(InMemoryChannelLayer(), groups) == groups


def test_a_trip_reaches_its_listened_groups_and_skips_the_rest(counting_layer):
    layer = counting_layer
    groups = _groups("trip")
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(groups["watched"], channel)
    pusher = Pusher()
    try:
        pusher.send(
            [
                (groups["empty"], {"type": "realtime.event", "event": {"n": 0}}),
                (groups["watched"], {"type": "realtime.event", "event": {"n": 1}}),
                (groups["empty"], {"type": "realtime.event", "event": {"n": 2}}),
                (groups["watched"], {"type": "realtime.event", "event": {"n": 3}}),
            ]
        )
        assert pusher.wait(5)

        async def receive_two():
            return [(await layer.receive(channel))["event"]["n"] for _ in range(2)]

        assert sorted(async_to_sync(receive_two)()) == [1, 3]
        assert CountingLayer.sent_to == [groups["watched"]] * 2
    finally:
        async_to_sync(layer.group_discard)(groups["watched"], channel)
        pusher.close(1)


@pytest.mark.django_db(transaction=True)
def test_an_organization_hears_one_event_for_a_batch_of_its_incidents():
    layer = get_channel_layer()
    base = time.monotonic_ns() % 10**12
    first, second = base, base + 1
    incidents = [
        Incident(pk=base + 10, organization_id=first, status="triggered"),
        Incident(pk=base + 11, organization_id=first, status="acknowledged"),
        Incident(pk=base + 12, organization_id=second, status="triggered"),
    ]
    groups = [f"org.{first}", f"org.{second}", f"incident.{base + 11}"]
    channels = {group: async_to_sync(layer.new_channel)() for group in groups}
    for group, channel in channels.items():
        async_to_sync(layer.group_add)(group, channel)
    try:
        publish_incidents_after_commit(
            [
                (incidents[0], "notification.sent"),
                (incidents[1], "notification.sent"),
                (incidents[1], "incident.acknowledged"),  # the latest per incident wins
                (incidents[2], "notification.sent"),
            ]
        )
        assert pusher().wait(5)

        async def heard(channel):
            return (await layer.receive(channel))["event"]

        assert async_to_sync(heard)(channels[f"org.{first}"]) == {
            "kind": "incident",
            "verb": "incident.updated",
            "count": 2,
        }
        assert async_to_sync(heard)(channels[f"org.{second}"]) == {
            "kind": "incident",
            "id": base + 12,
            "verb": "notification.sent",
            "status": "triggered",
        }
        assert async_to_sync(heard)(channels[f"incident.{base + 11}"]) == {
            "kind": "incident",
            "id": base + 11,
            "verb": "incident.acknowledged",
            "status": "acknowledged",
        }
    finally:
        for group, channel in channels.items():
            async_to_sync(layer.group_discard)(group, channel)
