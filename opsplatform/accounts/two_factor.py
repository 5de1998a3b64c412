"""Second factor: TOTP enrollment, backup codes, verification at sign-in, and removal.

A second factor belongs to the person, not to an organization, so its ledger entries go on the
platform chain (organization None). Wrong codes are never raised inside the transaction that
counted them: django-otp's throttling state must commit, or a rollback would erase the back-off.
"""

import io
from base64 import b32encode
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import qrcode
import qrcode.image.svg
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from opsplatform.accounts.middleware import two_factor_required
from opsplatform.accounts.models import User
from opsplatform.accounts.selectors import memberships_of
from opsplatform.core import ledger
from opsplatform.core.actors import Actor, ActorKind

BACKUP_CODE_COUNT = 10
TOTP_DEVICE_NAME = "Authenticator app"
BACKUP_DEVICE_NAME = "Backup codes"

INVALID_CODE = "That code is not valid. Check your authenticator app or use an unused backup code."


@dataclass(frozen=True)
class Enrollment:
    device: TOTPDevice
    backup_codes: list[str]  # shown once, right after they are issued


def _actor(user) -> Actor:
    return Actor(kind=ActorKind.USER, organization=None, user=user)


def _record(user, verb: str, data: dict) -> None:
    ledger.record(actor=_actor(user), verb=verb, target=user, data=data, organization=None)


def _lock_user(user) -> None:
    # Serializes every second-factor change of one person: two tabs cannot enroll two devices.
    User.objects.select_for_update().filter(pk=user.pk).first()


def normalize_code(code: str) -> str:
    return "".join(ch for ch in (code or "") if ch not in " -\t").lower()


def _is_totp_shaped(code: str) -> bool:
    # ASCII only: "²" is a digit to isdigit() but not to the TOTP check, so such a code is tried
    # against the backup codes (and fails there) instead of counting as an authenticator attempt.
    return len(code) == 6 and code.isascii() and code.isdigit()


def _throttled_message(until: datetime | None) -> str:
    if until is None:
        return "Too many wrong codes. Wait a moment and try again."
    seconds = max(1, int((until - timezone.now()).total_seconds()) + 1)
    return f"Too many wrong codes. Try again in {seconds} seconds."


# --- reads --------------------------------------------------------------------------------------


def confirmed_totp_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def backup_codes_remaining(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def qr_code_svg(device: TOTPDevice) -> str:
    """The provisioning URI as an inline SVG: nothing leaves the server to draw it."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=10)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()


def totp_secret_base32(device: TOTPDevice) -> str:
    return b32encode(device.bin_key).decode()


# --- writes -------------------------------------------------------------------------------------


@transaction.atomic
def totp_enroll(*, user) -> TOTPDevice:
    """The person's pending (unconfirmed) TOTP device, created on first use.

    Reusing the pending device keeps the secret stable across reloads of the setup page.
    """
    _lock_user(user)
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        raise ValidationError("Two-factor authentication is already enabled.")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is not None:
        return device
    device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    _record(user, "auth.2fa_enrollment_started", {"device": device.persistent_id})
    return device


def _issue_backup_codes(user) -> list[str]:
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name=BACKUP_DEVICE_NAME, defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes: set[str] = set()
    while len(codes) < BACKUP_CODE_COUNT:
        codes.add(StaticToken.random_token())
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return sorted(codes)


def totp_confirm(*, user, device: TOTPDevice, code: str) -> Enrollment:
    """Confirm the pending device with a current code and issue fresh backup codes."""
    code = normalize_code(code)
    with transaction.atomic():
        _lock_user(user)
        device = TOTPDevice.objects.select_for_update().filter(pk=device.pk, user=user).first()
        if device is None or device.confirmed:
            raise ValidationError({"code": "This setup has expired. Start again."})
        allowed, info = device.verify_is_allowed()
        if not allowed:
            raise ValidationError({"code": _throttled_message((info or {}).get("locked_until"))})
        verified = _is_totp_shaped(code) and device.verify_token(code)
        if verified:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            TOTPDevice.objects.filter(user=user, confirmed=False).delete()
            codes = _issue_backup_codes(user)
            _record(
                user,
                "auth.2fa_enabled",
                {"device": device.persistent_id, "backup_codes": BACKUP_CODE_COUNT},
            )
            return Enrollment(device=device, backup_codes=codes)
    # Raised after the block so the device's failure counter is committed.
    raise ValidationError({"code": INVALID_CODE})


def _match(user, code: str, on_match: Callable[[Device], None]) -> Device:
    """The device that accepted ``code``, after ``on_match`` ran in the same transaction.

    A six-digit code is only tried against the authenticator and anything else only against the
    backup codes, so a mistyped backup code does not slow down the authenticator and vice versa.
    """
    model = TOTPDevice if _is_totp_shaped(code) else StaticDevice
    throttled_until = None
    throttled = False
    with transaction.atomic():
        _lock_user(user)
        for device in model.objects.select_for_update().filter(user=user, confirmed=True).order_by("pk"):
            allowed, info = device.verify_is_allowed()
            if not allowed:
                throttled = True
                throttled_until = (info or {}).get("locked_until")
                continue
            if code and device.verify_token(code):
                on_match(device)
                return device
    # Raised after the block so the failure counters are committed.
    raise ValidationError({"code": _throttled_message(throttled_until) if throttled else INVALID_CODE})


def second_factor_verify(*, user, code: str) -> Device:
    """The device that accepted ``code`` (a TOTP code or an unused backup code), or ValidationError."""

    def record(device):
        data = {"method": "backup_code" if isinstance(device, StaticDevice) else "totp"}
        if isinstance(device, StaticDevice):
            data["backup_codes_left"] = device.token_set.count()
        _record(user, "auth.2fa_verified", data)

    return _match(user, normalize_code(code), record)


def policy_requires_two_factor(user) -> bool:
    return two_factor_required(user, list(memberships_of(user)))


def two_factor_disable(*, user, code: str) -> None:
    """Remove every second factor of ``user``; needs a current code and no organization policy."""
    if policy_requires_two_factor(user):
        raise PermissionDenied(
            "An organization you belong to requires two-factor authentication for your role."
        )

    def remove_all(device):
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        _record(user, "auth.2fa_disabled", {"confirmed_with": device.persistent_id})

    _match(user, normalize_code(code), remove_all)


@transaction.atomic
def backup_codes_regenerate(*, user) -> list[str]:
    """Replace every backup code; the old ones stop working at once."""
    _lock_user(user)
    if not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        raise ValidationError("Enable two-factor authentication first.")
    codes = _issue_backup_codes(user)
    _record(user, "auth.2fa_backup_codes_regenerated", {"count": BACKUP_CODE_COUNT})
    return codes
