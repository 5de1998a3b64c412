"""One shape for every page that writes: validate the form, call the service, show the outcome.

A service raises Django's ``ValidationError`` for what it refuses; on a page that becomes errors
on the form (re-rendered with status 400) or, for buttons without a form, a flash message::

    form = ChannelEditForm(request.POST, kind=channel.kind)
    done = submit(request, form, lambda data: services.channel_update(actor=actor, channel=channel, **data),
                  success="Channel saved.", redirect_to=("notifications:channel_detail", channel.pk))
    if done.response:
        return done.response
    return render(request, "notifications/channel_detail.html", {"form": form}, status=done.status)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect


def add_service_errors(form: forms.Form, exc: ValidationError, also: tuple[forms.Form, ...] = ()) -> None:
    """Copy a service's ValidationError onto the form holding each field (``form`` or one of ``also``);
    keys that are no field of any of them become errors of ``form`` as a whole."""
    errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
    for field, messages_ in errors.items():
        target_form = next((f for f in (form, *also) if field in f.fields), None)
        for message in messages_:
            if target_form is None:
                form.add_error(None, message)
            else:
                target_form.add_error(field, message)


def first_error(exc: ValidationError) -> str:
    return exc.messages[0] if exc.messages else "The request could not be completed."


@dataclass
class Submitted:
    """What :func:`submit` did. ``ok``: the service did it; ``response``: the redirect to answer with
    (None when the target was None: the caller renders the result, e.g. a secret shown once);
    otherwise ``status`` is 400 and the errors are on the form."""

    ok: bool
    response: Any = None
    result: Any = None
    status: int = 200


def _target(redirect_to, result):
    target = redirect_to(result) if callable(redirect_to) else redirect_to
    if target is None:
        return None
    if isinstance(target, tuple):
        return redirect(target[0], *target[1:])
    return redirect(target)


def _message(success, result) -> str:
    return success(result) if callable(success) else success


def submit(
    request,
    form: forms.Form,
    call: Callable[[dict], Any],
    *,
    success: str | Callable[[Any], str],
    redirect_to,
    also: tuple[forms.Form, ...] = (),
) -> Submitted:
    """Validate ``form`` (and ``also``); call ``call(form.cleaned_data)``; on success flash ``success``
    and redirect to ``redirect_to`` (a URL, a URL name, a ``(name, *args)`` tuple, None for no
    redirect, or a function of the service's result returning one of those)."""
    if not (form.is_valid() and all(extra.is_valid() for extra in also)):
        return Submitted(ok=False, status=400)
    try:
        result = call(form.cleaned_data)
    except ValidationError as exc:
        add_service_errors(form, exc, also)
        return Submitted(ok=False, status=400)
    if success:
        messages.success(request, _message(success, result))
    return Submitted(ok=True, response=_target(redirect_to, result), result=result)


def act(
    request, call: Callable[[], Any], *, success: str | Callable[[Any], str], redirect_to, refused_to=None
):
    """A button without a form (delete, rotate, resend): call the service, flash its outcome (or the
    first reason it refused), and redirect to ``redirect_to`` (``refused_to``, when given, if refused)."""
    try:
        result = call()
    except ValidationError as exc:
        messages.error(request, first_error(exc))
        return _target(refused_to or redirect_to, None)
    if success:
        messages.success(request, _message(success, result))
    return _target(redirect_to, result)
