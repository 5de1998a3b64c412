"""Retention: each kind removes exactly what is past its window, in batches, per organization (with
overrides within the deployment's bounds), with a run record and a ledger entry per run."""

import secrets
import time
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from audit.models import RetentionJob, RetentionOverride, RetentionRun
from audit.retention.policy import effective_days, retention_set
from audit.retention.registry import BY_KEY, KINDS, Limits
from audit.retention.runner import run_kind
from audit.retention.schedule import tick
from incidents.models import Alert
from opsplatform.accounts.models import ApiToken, Invitation
from opsplatform.core.capabilities import Capability
from tests.incidents.factories import IncidentFactory
from tests.ledger import entries
from tests.retention import keep_days, purge

pytestmark = pytest.mark.django_db


def token(org, user, **times):
    return ApiToken.objects.create(
        organization=org,
        user=user,
        name="t",
        prefix=secrets.token_hex(4),
        key_hash=secrets.token_hex(32),
        **times,
    )


def invitation(org, **times):
    times.setdefault("expires_at", timezone.now() + timedelta(days=7))
    return Invitation.objects.create(
        organization=org,
        email=f"{secrets.token_hex(3)}@example.com",
        token_hash=secrets.token_hex(32),
        **times,
    )


def ago(days: float):
    return timezone.now() - timedelta(days=days)


def test_every_kind_has_a_selector_or_a_job_and_sane_bounds(settings):
    for kind in KINDS:
        assert bool(kind.expired) != bool(kind.job), kind.key
        limits = settings.RETENTION[kind.key]
        assert limits.min_days <= limits.days <= limits.max_days


def test_tokens_past_the_window_go_and_nothing_else(org, other_org, users, outsider, settings):
    keep_days(settings, "expired_tokens", 30)
    old_revoked = token(org, users["admin"], revoked_at=ago(31))
    old_expired = token(org, users["admin"], expires_at=ago(40))
    recent_revoked = token(org, users["admin"], revoked_at=ago(29))
    live = token(org, users["admin"], expires_at=timezone.now() + timedelta(days=10))
    never_expires = token(org, users["admin"])
    foreign_old = token(other_org, outsider, revoked_at=ago(31))

    assert purge("expired_tokens") == 3

    left = set(ApiToken.objects.values_list("pk", flat=True))
    assert left == {recent_revoked.pk, live.pk, never_expires.pk}
    assert not {old_revoked.pk, old_expired.pk, foreign_old.pk} & left


def test_batches_by_primary_key_and_a_ledger_entry_per_run(org, users, settings):
    settings.RETENTION_BATCH_SIZE = 2
    keep_days(settings, "expired_invitations", 10)
    for _ in range(5):
        invitation(org, revoked_at=ago(11))
    accepted = invitation(org, expires_at=ago(100), accepted_at=ago(101))
    pending = invitation(org)

    assert purge("expired_invitations") == 5

    assert set(Invitation.objects.values_list("pk", flat=True)) == {accepted.pk, pending.pk}
    run = RetentionRun.objects.get(organization=org, kind="expired_invitations")
    assert (run.removed, run.batches, run.status) == (5, 3, "done")
    (entry,) = entries("retention.purged", target=run)
    assert entry.organization_id == org.pk
    assert entry.data["kind"] == "expired_invitations"
    assert entry.data["removed"] == 5
    assert entry.data["days"] == 10
    # A second run finds nothing: a run record, but no ledger entry.
    assert purge("expired_invitations") == 0
    assert entries("retention.purged").count() == 1
    assert RetentionRun.objects.filter(kind="expired_invitations", removed=0).count() == 1


def test_an_organization_override_within_the_bounds_applies_to_it_alone(
    org, other_org, users, outsider, actor_as, settings
):
    settings.RETENTION = {**settings.RETENTION, "expired_tokens": Limits(days=30, min_days=5, max_days=60)}
    retention_set(actor=actor_as("admin"), kind="expired_tokens", days=50)
    kept = token(org, users["admin"], revoked_at=ago(40))
    gone_elsewhere = token(other_org, outsider, revoked_at=ago(40))

    assert purge("expired_tokens") == 1

    assert ApiToken.objects.filter(pk=kept.pk).exists()
    assert not ApiToken.objects.filter(pk=gone_elsewhere.pk).exists()
    (entry,) = entries("retention.set")
    assert entry.data == {"kind": "expired_tokens", "days": 50, "was": None}


def test_overrides_outside_the_bounds_are_refused(org, actor_as, settings):
    settings.RETENTION = {**settings.RETENTION, "expired_tokens": Limits(days=30, min_days=5, max_days=60)}
    for days in (4, 61):
        with pytest.raises(ValidationError, match="between 5 and 60"):
            retention_set(actor=actor_as("admin"), kind="expired_tokens", days=days)
    with pytest.raises(ValidationError):
        retention_set(actor=actor_as("admin"), kind="expired_sessions", days=3)
    assert not RetentionOverride.objects.exists()
    assert not entries("retention.set").exists()


def test_only_admins_change_retention(org, actor_as):
    assert not actor_as("manager").can(Capability.ORGANIZATION_MANAGE)
    with pytest.raises(PermissionDenied):
        retention_set(actor=actor_as("manager"), kind="expired_tokens", days=30)


def test_narrowed_bounds_win_over_a_saved_override(org, actor_as, settings):
    retention_set(actor=actor_as("admin"), kind="raw_payloads", days=60)
    settings.RETENTION = {**settings.RETENTION, "raw_payloads": Limits(days=7, min_days=1, max_days=14)}

    assert effective_days(BY_KEY["raw_payloads"], org.pk) == 14


def test_resolved_incidents_lose_their_alerts_open_ones_keep_them(org, settings):
    keep_days(settings, "resolved_alerts", 30)
    old = IncidentFactory(organization=org, status="resolved", resolved_at=ago(40))
    recent = IncidentFactory(organization=org, status="resolved", resolved_at=ago(5))
    still_open = IncidentFactory(organization=org, status="triggered")
    made = {}
    for name, incident in [("old", old), ("recent", recent), ("open", still_open)]:
        made[name] = Alert.objects.create(
            organization=org, incident=incident, dedup_key=name, title=name, last_seen_at=ago(60)
        )
    lone_old = Alert.objects.create(
        organization=org, dedup_key="lone", title="lone", standalone=True, last_seen_at=ago(45)
    )

    assert purge("resolved_alerts") == 2

    assert set(Alert.objects.values_list("dedup_key", flat=True)) == {"recent", "open"}
    assert not Alert.objects.filter(pk__in=[made["old"].pk, lone_old.pk]).exists()


def test_expired_sessions_are_deployment_wide_on_the_platform_chain(settings):
    keep_days(settings, "expired_sessions", 1)
    Session.objects.create(session_key="a" * 32, session_data="x", expire_date=ago(2))
    Session.objects.create(session_key="b" * 32, session_data="x", expire_date=ago(0.5))

    assert purge("expired_sessions") == 1

    assert list(Session.objects.values_list("session_key", flat=True)) == ["b" * 32]
    (entry,) = entries("retention.purged")
    assert entry.organization_id is None


def test_a_dry_run_counts_and_changes_nothing(org, users, settings):
    keep_days(settings, "expired_tokens", 30)
    doomed = token(org, users["admin"], revoked_at=ago(31))

    assert purge("expired_tokens", dry_run=True) == 1

    assert ApiToken.objects.filter(pk=doomed.pk).exists()
    assert not RetentionRun.objects.exists()
    assert not entries("retention.purged").exists()


def test_the_tick_claims_due_jobs_once_and_sets_their_next_run(org, users, settings):
    keep_days(settings, "expired_tokens", 30)
    token(org, users["admin"], revoked_at=ago(31))

    outcomes = tick(budget_seconds=30)

    assert sum(outcome.removed for outcome in outcomes if outcome.kind == "expired_tokens") == 1
    jobs = RetentionJob.objects.all()
    assert {job.kind for job in jobs} == {kind.key for kind in KINDS}
    for job in jobs:
        assert job.leased_until is None
        assert job.next_run_at > timezone.now() + timedelta(
            seconds=settings.RETENTION_RUN_INTERVAL_SECONDS - 60
        )
    assert tick(budget_seconds=30) == []


def test_a_run_out_of_time_is_partial_and_due_again(org, users, settings):
    settings.RETENTION_BATCH_SIZE = 1
    keep_days(settings, "expired_tokens", 30)
    for _ in range(3):
        token(org, users["admin"], revoked_at=ago(31))
    RetentionJob.objects.bulk_create([RetentionJob(kind=k.key, next_run_at=ago(-1)) for k in KINDS])
    RetentionJob.objects.filter(kind="expired_tokens").update(next_run_at=ago(1))

    tick(budget_seconds=0.0001)  # claims nothing: no time left even for one job

    assert ApiToken.objects.count() == 3
    (outcome,) = run_kind(BY_KEY["expired_tokens"], deadline=time.monotonic() - 1)
    assert not outcome.finished
    assert RetentionRun.objects.get(kind="expired_tokens").status == "partial"
