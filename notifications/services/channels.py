"""On-call and notifications: writes to an organization's delivery channels, and the one place their
secrets are sealed.

Secrets (webhook URLs, signing secrets, Twilio auth tokens) are sealed with AES-GCM
(``opsplatform.core.crypto``) under a context bound to the row, returned to the caller once when they are
generated here (the webhook signing secret) and never again; the ledger records which fields
changed, not their values. Only the senders open them again (``selectors.channel_secrets``).
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from audit.services import record
from notifications.masking import mask_url
from notifications.models import Channel, ChannelKind, StepTarget
from notifications.models.channels import TWILIO_KINDS
from notifications.selectors import channel_secrets
from opsplatform.core import crypto, http
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Capability

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
TWILIO_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
SIGNING_SECRET_PREFIX = "whsec_"
MAX_RECIPIENTS = 50
URL_KINDS = (ChannelKind.SLACK, ChannelKind.TEAMS, ChannelKind.WEBHOOK)


@dataclass(frozen=True)
class IssuedChannel:
    channel: Channel
    signing_secret: str = ""  # webhook channels: shown once, at creation or rotation


def validate_url(value: str, field: str = "url") -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError({field: "A URL is required."})
    if len(value) > 2000:
        raise ValidationError({field: "At most 2000 characters."})
    try:
        http.vet_url(value)
    except ValueError as exc:
        raise ValidationError({field: str(exc)}) from exc
    return value


def validate_phone(value: str, field: str) -> str:
    value = re.sub(r"[\s().-]", "", value or "")
    if not E164.match(value):
        raise ValidationError(
            {field: f"{value or 'This'} is not a phone number in E.164 form (+4915112345678)."}
        )
    return value


def _clean_recipients(kind: str, recipients) -> list[str]:
    recipients = [r.strip() for r in (recipients or []) if r and r.strip()]
    if len(recipients) > MAX_RECIPIENTS:
        raise ValidationError({"recipients": f"At most {MAX_RECIPIENTS} recipients."})
    cleaned = []
    for value in recipients:
        if kind == ChannelKind.EMAIL:
            try:
                validate_email(value)
            except ValidationError as exc:
                raise ValidationError({"recipients": f"{value} is not an e-mail address."}) from exc
            cleaned.append(value.lower())
        else:
            cleaned.append(validate_phone(value, "recipients"))
    if kind in (ChannelKind.EMAIL, *TWILIO_KINDS) and not cleaned:
        raise ValidationError({"recipients": "At least one recipient is required."})
    return list(dict.fromkeys(cleaned))


def _seal(channel: Channel, values: dict) -> None:
    channel.secrets_encrypted = (
        crypto.encrypt(json.dumps(values), context=channel.secret_context) if values else ""
    )


def _hint(kind: str, secrets_: dict, config: dict) -> str:
    if kind in URL_KINDS:
        return mask_url(secrets_.get("url", ""))
    if kind in TWILIO_KINDS:
        return f"account {config.get('account_sid', '')[:6]}…, token …{secrets_.get('auth_token', '')[-4:]}"
    return ""


def _build(kind: str, *, url, recipients, account_sid, auth_token, from_number, existing: dict | None = None):
    """(config, secrets) for ``kind``; empty secret inputs keep ``existing`` values on update."""
    existing = existing or {}
    config, values = {}, {}
    if kind in URL_KINDS:
        values["url"] = validate_url(url) if url or not existing.get("url") else existing["url"]
    if kind == ChannelKind.EMAIL:
        config["recipients"] = _clean_recipients(kind, recipients)
    if kind in TWILIO_KINDS:
        account_sid = (account_sid or "").strip()
        if not TWILIO_SID.match(account_sid):
            raise ValidationError(
                {"account_sid": "A Twilio account SID looks like AC followed by 32 hex digits."}
            )
        config["account_sid"] = account_sid
        config["from_number"] = validate_phone(from_number, "from_number")
        config["recipients"] = _clean_recipients(kind, recipients)
        token = (auth_token or "").strip() or existing.get("auth_token", "")
        if not token:
            raise ValidationError({"auth_token": "The Twilio auth token is required."})
        if len(token) > 200:
            raise ValidationError({"auth_token": "At most 200 characters."})
        values["auth_token"] = token
    return config, values


@transaction.atomic
def channel_create(
    *,
    actor: Actor,
    name: str,
    kind: str,
    url: str = "",
    recipients=(),
    account_sid: str = "",
    auth_token: str = "",
    from_number: str = "",
    is_active: bool = True,
) -> IssuedChannel:
    actor.require(Capability.CHANNEL_MANAGE)
    name = (name or "").strip()[:100]
    if not name:
        raise ValidationError({"name": "A channel needs a name."})
    if kind not in ChannelKind.values:
        raise ValidationError({"kind": f"Choose one of {', '.join(ChannelKind.values)}."})
    if Channel.objects.filter(organization=actor.organization, name__iexact=name).exists():
        raise ValidationError({"name": "A channel with this name already exists."})
    config, values = _build(
        kind,
        url=url,
        recipients=recipients,
        account_sid=account_sid,
        auth_token=auth_token,
        from_number=from_number,
    )
    signing_secret = ""
    if kind == ChannelKind.WEBHOOK:
        signing_secret = SIGNING_SECRET_PREFIX + secrets.token_urlsafe(32)
        values["signing_secret"] = signing_secret
    channel = Channel(
        organization=actor.organization,
        name=name,
        kind=kind,
        config=config,
        is_active=is_active,
        created_by=actor.user,
    )
    _seal(channel, values)
    channel.secret_hint = _hint(kind, values, config)
    channel.save()
    record(actor=actor, verb="channel.created", target=channel, data={"name": name, "kind": kind})
    return IssuedChannel(channel=channel, signing_secret=signing_secret)


@transaction.atomic
def channel_update(
    *,
    actor: Actor,
    channel: Channel,
    name: str | None = None,
    is_active: bool | None = None,
    url: str = "",
    recipients=None,
    account_sid: str | None = None,
    auth_token: str = "",
    from_number: str | None = None,
) -> Channel:
    """Change a channel. Secret inputs left empty keep the stored secret."""
    actor.require(Capability.CHANNEL_MANAGE)
    channel = Channel.objects.select_for_update().get(pk=channel.pk, organization=actor.organization)
    changed = []
    if name is not None and name.strip() != channel.name:
        name = name.strip()[:100]
        if not name:
            raise ValidationError({"name": "A channel needs a name."})
        if (
            Channel.objects.filter(organization=actor.organization, name__iexact=name)
            .exclude(pk=channel.pk)
            .exists()
        ):
            raise ValidationError({"name": "A channel with this name already exists."})
        channel.name = name
        changed.append("name")
    if is_active is not None and is_active != channel.is_active:
        channel.is_active = is_active
        changed.append("is_active")
    existing = channel_secrets(channel)
    config, values = _build(
        channel.kind,
        url=url,
        recipients=channel.config.get("recipients", []) if recipients is None else recipients,
        account_sid=channel.config.get("account_sid", "") if account_sid is None else account_sid,
        auth_token=auth_token,
        from_number=channel.config.get("from_number", "") if from_number is None else from_number,
        existing=existing,
    )
    if "signing_secret" in existing:
        values["signing_secret"] = existing["signing_secret"]
    if config != channel.config:
        channel.config = config
        changed.append("config")
    if values != existing:
        _seal(channel, values)
        channel.secret_hint = _hint(channel.kind, values, config)
        changed.append("secrets")
    if not changed:
        return channel
    channel.updated_at = timezone.now()
    db_fields = {"secrets": ["secrets_encrypted", "secret_hint"]}
    fields = [f for c in changed for f in db_fields.get(c, [c])]
    channel.save(update_fields=[*fields, "updated_at"])
    record(actor=actor, verb="channel.updated", target=channel, data={"changed": sorted(changed)})
    return channel


@transaction.atomic
def channel_rotate_signing_secret(*, actor: Actor, channel: Channel) -> IssuedChannel:
    actor.require(Capability.CHANNEL_MANAGE)
    channel = Channel.objects.select_for_update().get(pk=channel.pk, organization=actor.organization)
    if channel.kind != ChannelKind.WEBHOOK:
        raise ValidationError({"kind": "Only webhook channels sign their requests."})
    values = channel_secrets(channel)
    values["signing_secret"] = SIGNING_SECRET_PREFIX + secrets.token_urlsafe(32)
    _seal(channel, values)
    channel.updated_at = timezone.now()
    channel.save(update_fields=["secrets_encrypted", "updated_at"])
    record(actor=actor, verb="channel.signing_secret_rotated", target=channel, data={})
    return IssuedChannel(channel=channel, signing_secret=values["signing_secret"])


@transaction.atomic
def channel_delete(*, actor: Actor, channel: Channel) -> None:
    actor.require(Capability.CHANNEL_MANAGE)
    names = sorted(
        set(StepTarget.objects.filter(channel=channel).values_list("step__policy__name", flat=True))
    )
    if names:
        raise ValidationError(
            {"channel": f"Escalation policies notify this channel: {', '.join(names)}. Change them first."}
        )
    record(
        actor=actor, verb="channel.deleted", target=channel, data={"name": channel.name, "kind": channel.kind}
    )
    channel.delete()
