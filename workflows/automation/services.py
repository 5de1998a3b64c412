"""Every write to automation rules, and the backtest (a read, in a read-only transaction).

Rules are written by managers (``automation.manage``) and read by every member (``workflow.view``).
Each write validates the whole rule (``spec``), then writes it and its ledger entry together.
"""

from __future__ import annotations

import secrets
from collections import Counter
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.http import Http404
from django.utils import timezone

from audit.models import LedgerEntry
from audit.services import record
from opsplatform.core import crypto
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Capability
from workflows.automation import spec
from workflows.automation.actions import secret_context
from workflows.automation.consumer import ensure_cursor
from workflows.automation.matchers import VERBS, Context, fires
from workflows.automation.models import AutomationRule, Trigger

FIELDS = (
    "name",
    "description",
    "enabled",
    "trigger",
    "trigger_state",
    "trigger_workflow",
    "conditions",
    "once_per_incident",
    "actions",
)
MAX_BACKTEST_DAYS = 90
BACKTEST_SAMPLES = 50
BACKTEST_LIMIT = 50_000
CHUNK = 1000


def ensure_same_organization(actor: Actor, rule: AutomationRule) -> None:
    if rule.organization_id != getattr(actor.organization, "pk", None):
        raise Http404("No automation rule matches the given query.")


def _clean_plain(out: dict) -> None:
    if "name" in out:
        out["name"] = (out["name"] or "").strip()
        if not out["name"] or len(out["name"]) > 150:
            raise ValidationError({"name": "A name of 1 to 150 characters."})
    if "description" in out and (not isinstance(out["description"], str) or len(out["description"]) > 2000):
        raise ValidationError({"description": "At most 2,000 characters."})
    if "trigger" in out and out["trigger"] not in Trigger.values:
        raise ValidationError({"trigger": f"One of {', '.join(Trigger.values)}."})
    for key, limit in (("trigger_state", 48), ("trigger_workflow", 64)):
        if key in out:
            out[key] = (out[key] or "").strip()
            if len(out[key]) > limit:
                raise ValidationError({key: f"At most {limit} characters."})
    for key in ("enabled", "once_per_incident"):
        if key in out and not isinstance(out[key], bool):
            raise ValidationError({key: "true or false."})


def _clean(values: dict) -> dict:
    unknown = set(values) - set(FIELDS) - {"webhook_secret"}
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "Not a field of a rule."))
    out = dict(values)
    _clean_plain(out)
    if "conditions" in out:
        out["conditions"] = spec.clean_conditions(out["conditions"])
    if "actions" in out:
        out["actions"] = spec.clean_actions(out["actions"])
    secret = out.get("webhook_secret")
    if secret is not None and (not isinstance(secret, str) or not 16 <= len(secret) <= 200):
        raise ValidationError({"webhook_secret": "A secret of 16 to 200 characters."})
    return out


def _check_trigger(rule: AutomationRule) -> None:
    if rule.trigger == Trigger.WORKFLOW_STATE and not rule.trigger_state:
        raise ValidationError({"trigger_state": "Name the state the workflow enters."})
    if rule.trigger != Trigger.WORKFLOW_STATE and (rule.trigger_state or rule.trigger_workflow):
        raise ValidationError({"trigger_state": "Only for the trigger “workflow entered a state”."})


def _ledger_view(rule: AutomationRule) -> dict:
    # The secret never goes to the ledger; whether one is set does.
    return {key: getattr(rule, key) for key in FIELDS} | {"signed": bool(rule.webhook_secret)}


def _set_secret(rule: AutomationRule, secret: str) -> None:
    rule.webhook_secret = crypto.encrypt(secret, context=secret_context(rule.pk))


def rule_create(*, actor: Actor, **values) -> tuple[AutomationRule, str]:
    """The rule and its webhook signing secret (generated unless given), shown to its author once
    and kept encrypted."""
    actor.require(Capability.AUTOMATION_MANAGE)
    values = _clean(values)
    for key in ("name", "trigger", "actions"):
        if key not in values:
            raise ValidationError({key: "This field is required."})
    secret = values.pop("webhook_secret", None) or secrets.token_urlsafe(32)
    now = timezone.now()
    rule = AutomationRule(
        organization=actor.organization, created_by=actor.user, created_at=now, updated_at=now
    )
    for key, value in values.items():
        setattr(rule, key, value)
    rule.conditions = rule.conditions or spec.clean_conditions(None)
    _check_trigger(rule)
    with transaction.atomic():
        rule.save()
        _set_secret(rule, secret)
        rule.save(update_fields=["webhook_secret"])
        ensure_cursor(rule.organization_id)
        record(actor=actor, verb="automation.rule.created", target=rule, data=_ledger_view(rule))
    return rule, secret


def rule_update(*, actor: Actor, rule: AutomationRule, **values) -> AutomationRule:
    ensure_same_organization(actor, rule)
    actor.require(Capability.AUTOMATION_MANAGE, rule)
    values = _clean(values)
    with transaction.atomic():
        locked = AutomationRule.objects.select_for_update().get(pk=rule.pk)
        changed = [key for key in FIELDS if key in values and getattr(locked, key) != values[key]]
        for key in changed:
            setattr(locked, key, values[key])
        _check_trigger(locked)
        if values.get("webhook_secret"):
            _set_secret(locked, values["webhook_secret"])
            changed.append("webhook_secret")
        if not changed:
            return locked
        locked.updated_at = timezone.now()
        locked.save(update_fields=[*changed, "updated_at"])
        if locked.enabled:
            ensure_cursor(locked.organization_id)
        data = {key: getattr(locked, key) for key in changed if key != "webhook_secret"}
        if "webhook_secret" in changed:
            data["secret_rotated"] = True
        record(actor=actor, verb="automation.rule.updated", target=locked, data=data)
    return locked


def rule_delete(*, actor: Actor, rule: AutomationRule) -> None:
    ensure_same_organization(actor, rule)
    actor.require(Capability.AUTOMATION_MANAGE, rule)
    with transaction.atomic():
        record(actor=actor, verb="automation.rule.deleted", target=rule, data={"name": rule.name})
        rule.delete()


def clean_days(days) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_BACKTEST_DAYS:
        raise ValidationError({"days": f"A whole number of days from 1 to {MAX_BACKTEST_DAYS}."})
    return days


def backtest(*, actor: Actor, rule: AutomationRule, days: int, now=None) -> dict:
    """What the rule would have done over the last ``days`` days of the ledger, and how often.

    Read only, and held to it: the transaction is ``READ ONLY``, so PostgreSQL refuses any write a
    code path might attempt, and no action code runs at all (only the matchers).
    """
    ensure_same_organization(actor, rule)
    actor.require(Capability.WORKFLOW_VIEW, rule)
    days = clean_days(days)
    now = now or timezone.now()
    since = now - timedelta(days=days)
    fired, scanned, per_day, samples = 0, 0, Counter(), []
    seen_incidents: set[int] = set()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION READ ONLY")
        entries = LedgerEntry.objects.filter(
            organization_id=rule.organization_id, created_at__gte=since, verb__in=VERBS.get(rule.trigger, ())
        ).order_by("sequence")[:BACKTEST_LIMIT]
        batch = []
        for entry in entries.iterator(chunk_size=CHUNK):
            batch.append(entry)
            if len(batch) == CHUNK:
                scanned += len(batch)
                fired += _backtest_chunk(rule, batch, per_day, samples, seen_incidents)
                batch = []
        scanned += len(batch)
        fired += _backtest_chunk(rule, batch, per_day, samples, seen_incidents)
    return {
        "days": days,
        "since": since,
        "events_scanned": scanned,
        "fired": fired,
        "per_day": [{"date": day, "count": count} for day, count in sorted(per_day.items())],
        "actions": [spec.describe(action) for action in rule.actions],
        "would_run": fired * len(rule.actions),
        "samples": samples,
        "truncated": scanned >= BACKTEST_LIMIT,
    }


def _backtest_chunk(rule, batch, per_day, samples, seen_incidents) -> int:
    if not batch:
        return 0
    context = Context(rule.organization_id, batch)
    fired = 0
    for entry in batch:
        subject = fires(rule, entry, context)
        if subject is None:
            continue
        if rule.once_per_incident and subject.incident_id is not None:
            if subject.incident_id in seen_incidents:
                continue
            seen_incidents.add(subject.incident_id)
        fired += 1
        per_day[entry.created_at.date().isoformat()] += 1
        if len(samples) < BACKTEST_SAMPLES:
            incident = context.incidents.get(subject.incident_id)
            samples.append(
                {
                    "sequence": entry.sequence,
                    "verb": entry.verb,
                    "at": entry.created_at,
                    "target_type": entry.target_type,
                    "target_id": entry.target_id,
                    "incident": subject.incident_id,
                    "incident_title": incident.title if incident else "",
                    "severity": subject.severity,
                }
            )
    return fired
