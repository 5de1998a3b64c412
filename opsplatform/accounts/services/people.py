"""A person's own account. It belongs to no organization: these entries go on the platform chain."""

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from opsplatform.accounts.models import User
from opsplatform.core import ledger
from opsplatform.core.actors import Actor, ActorKind
from opsplatform.core.changes import apply_changes, refuse_unknown


def _require_self(actor: Actor, user: User) -> Actor:
    """The actor as the account holder on the platform chain (the ledger falls back to the actor's
    organization when none is given, and these entries belong to no organization)."""
    if actor.user is None or actor.user.pk != user.pk:
        raise PermissionDenied("Only the account holder can change this account.")
    return Actor(kind=ActorKind.USER, organization=None, user=actor.user)


@transaction.atomic
def user_update_profile(*, actor: Actor, user: User, **changes) -> User:
    actor = _require_self(actor, user)
    user = User.objects.select_for_update().get(pk=user.pk)
    refuse_unknown(changes, {"display_name", "email", "time_zone"})
    if "email" in changes:
        changes["email"] = changes["email"].strip().lower()
        if User.objects.filter(email__iexact=changes["email"]).exclude(pk=user.pk).exists():
            raise ValidationError({"email": "Another account already uses this e-mail address."})
    changed = apply_changes(user, changes)
    if not changed:
        return user
    user.full_clean(exclude=["password"])
    user.save(update_fields=list(changed))
    ledger.record(
        actor=actor,
        verb="user.profile_updated",
        target=user,
        data={"fields": sorted(changed)},
        organization=None,
    )
    return user


@transaction.atomic
def user_change_password(*, actor: Actor, user: User, password: str) -> User:
    actor = _require_self(actor, user)
    user = User.objects.select_for_update().get(pk=user.pk)
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc
    user.set_password(password)
    user.save(update_fields=["password"])
    # A new password ends the person's other sessions (their stored hash no longer matches), and
    # with them those sessions' live sockets.
    ledger.record(
        actor=actor,
        verb="user.password_changed",
        target=user,
        data={},
        organization=None,
        recheck_access_of=user.pk,
    )
    return user


@transaction.atomic
def user_set_active(*, actor: Actor, user: User, is_active: bool) -> User:
    """Deactivate (or reactivate) an account: platform staff only (``is_superuser``), never oneself.

    A deactivated person's sessions, tokens and live sockets all stop working at once: sessions and
    tokens are refused for an inactive user, and the sockets re-check after commit.
    """
    if actor.user is None or not actor.user.is_active or not actor.user.is_superuser:
        raise PermissionDenied("Only platform administrators can deactivate accounts.")
    if actor.user.pk == user.pk and not is_active:
        raise ValidationError({"is_active": "You cannot deactivate your own account."})
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.is_active == is_active:
        return user
    user.is_active = is_active
    user.save(update_fields=["is_active"])
    ledger.record(
        actor=Actor(kind=ActorKind.USER, organization=None, user=actor.user),
        verb="user.activated" if is_active else "user.deactivated",
        target=user,
        data={"user": user.username},
        organization=None,
        recheck_access_of=user.pk,
    )
    return user
