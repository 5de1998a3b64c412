"""The process-local cache of key lookups (``incidents.ingest.lookup_cache``): a hit costs no query, and
every change a lookup depends on (rotation, disabling, routing rules) reaches this process at once and
another process within the generation check; without Redis every lookup reads the database."""

import time

import pytest

from incidents.ingest import keys, lookup_cache
from incidents.ingest.lookup_cache import GENERATION_CHECK_SECONDS, LookupCache
from incidents.ingest.services import integration_rotate_key, integration_update
from incidents.models import IntegrationKind, RoutingRule
from tests.incidents.ingest.payloads import pd_trigger, post

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("lookup_cache_on")]
PD = IntegrationKind.PAGERDUTY


@pytest.fixture
def pd(make_integration):
    return make_integration("pagerduty")


@pytest.fixture
def loads(monkeypatch):
    """How many lookups went to the database (the cache's misses)."""
    calls = []
    real = keys._load

    def counted(digest, kind):
        calls.append(digest)
        return real(digest, kind)

    monkeypatch.setattr(keys, "_load", counted)
    return calls


def _lookups(cache: LookupCache, key: str) -> tuple:
    """What ``cache`` answers for ``key``, and whether it read the database for it."""
    digest = keys.key_digest(key)
    read = []

    def load():
        read.append(1)
        return keys._load(digest, PD)

    return cache.key_target(digest, PD, load), len(read)


def test_a_hit_reads_nothing_and_hands_out_a_private_copy(pd, loads):
    integration, key = pd
    first = keys.load_target(key, kind=PD)
    second = keys.load_target(key, kind=PD)
    assert len(loads) == 1
    assert second.integration.pk == first.integration.pk == integration.pk
    assert second.integration is not first.integration


def test_rotation_without_overlap_stops_the_old_key_at_once(client, pd, actor_as):
    integration, old = pd
    assert post(client, "/v2/enqueue", pd_trigger(old, dedup_key="a")).status_code == 202
    issued = integration_rotate_key(actor=actor_as("manager"), integration=integration, overlap_hours=0)
    assert post(client, "/v2/enqueue", pd_trigger(old, dedup_key="b")).status_code == 404
    assert post(client, "/v2/enqueue", pd_trigger(issued.key, dedup_key="c")).status_code == 202


def test_another_process_sees_a_rotation_within_the_generation_check(pd, actor_as):
    integration, old = pd
    elsewhere = LookupCache()  # another web process's cache
    assert _lookups(elsewhere, old)[0] is not None
    assert _lookups(elsewhere, old)[1] == 0
    integration_rotate_key(actor=actor_as("manager"), integration=integration, overlap_hours=0)
    time.sleep(GENERATION_CHECK_SECONDS * 1.5)
    target, queries = _lookups(elsewhere, old)
    assert target is None
    assert queries == 1


def test_a_rotated_keys_overlap_ends_in_the_cache_too(pd, actor_as, loads):
    integration, old = pd
    integration_rotate_key(actor=actor_as("manager"), integration=integration, overlap_hours=1)
    cached = keys.load_target(old, kind=PD)
    assert cached is not None and cached.expires_at is not None
    entry = lookup_cache.cache._entries[(keys.key_digest(old), PD)]
    keys.load_target(old, kind=PD)
    assert len(loads) == 1
    entry.target.expires_at = entry.target.expires_at.replace(year=2000)  # the overlap is over
    keys.load_target(old, kind=PD)
    assert len(loads) == 2


def test_disabling_and_rule_changes_invalidate(client, pd, actor_as):
    integration, key = pd
    assert keys.load_target(key, kind=PD).rules == []
    RoutingRule.objects.create(
        organization_id=integration.organization_id, integration=integration, name="drop test", action="drop"
    )
    assert [rule.name for rule in keys.load_target(key, kind=PD).rules] == ["drop test"]
    integration_update(actor=actor_as("manager"), integration=integration, enabled=False)
    assert keys.load_target(key, kind=PD) is None
    assert post(client, "/v2/enqueue", pd_trigger(key, dedup_key="x")).status_code == 404


def test_without_redis_every_lookup_reads_the_database(pd, settings):
    _integration, key = pd
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    lonely = LookupCache()
    assert _lookups(lonely, key)[1] == 1
    assert _lookups(lonely, key)[1] == 1
