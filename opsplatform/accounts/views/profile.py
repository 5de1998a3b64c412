"""The person's own settings: profile, password and two-factor authentication."""

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from opsplatform.accounts import services, two_factor
from opsplatform.accounts.forms import CodeForm, ProfileForm
from opsplatform.accounts.views.auth import render_backup_codes
from opsplatform.accounts.views.helpers import attempt
from opsplatform.core.forms import submit

# --- profile and password -----------------------------------------------------------------------


def _profile_initial(user) -> dict:
    return {"display_name": user.display_name, "email": user.email, "time_zone": user.time_zone}


def _render_profile(request, *, form=None, password_form=None, status=200):
    context = {
        "form": form or ProfileForm(initial=_profile_initial(request.user)),
        "password_form": password_form or PasswordChangeForm(request.user),
    }
    return render(request, "accounts/profile.html", context, status=status)


@login_required
def profile(request):
    if request.method != "POST":
        return _render_profile(request)
    form = ProfileForm(request.POST)
    done = submit(
        request,
        form,
        lambda data: services.user_update_profile(actor=request.actor, user=request.user, **data),
        success="Profile saved.",
        redirect_to="accounts:profile",
    )
    if done.ok:
        return done.response
    return _render_profile(request, form=form)


@sensitive_post_parameters("old_password", "new_password1", "new_password2")
@require_POST
@login_required
def password_change(request):
    password_form = PasswordChangeForm(request.user, request.POST)

    def change(data):
        user = services.user_change_password(
            actor=request.actor, user=request.user, password=data["new_password1"]
        )
        # Keeps this session signed in; every other session of the person ends.
        update_session_auth_hash(request, user)
        return user

    done = submit(request, password_form, change, success="Password changed.", redirect_to="accounts:profile")
    if done.ok:
        return done.response
    return _render_profile(request, password_form=password_form)


# --- two-factor ---------------------------------------------------------------------------------


def _render_security(request, *, disable_form=None, status=200):
    user = request.user
    device = two_factor.confirmed_totp_device(user)
    context = {
        "device": device,
        "backup_codes_left": two_factor.backup_codes_remaining(user) if device else 0,
        "policy_required": two_factor.policy_requires_two_factor(user),
        "disable_form": disable_form or CodeForm(),
    }
    return render(request, "accounts/security.html", context, status=status)


@login_required
def security(request):
    return _render_security(request)


@sensitive_post_parameters("code")
@require_POST
@login_required
def security_disable(request):
    form = CodeForm(request.POST)
    try:
        done = submit(
            request,
            form,
            lambda data: two_factor.two_factor_disable(user=request.user, code=data["code"]),
            success="Two-factor authentication is off.",
            redirect_to="accounts:security",
        )
    except PermissionDenied as exc:
        # Refused by policy (not a wrong code): the reason belongs on the form, with a 403.
        form.add_error(None, str(exc))
        return _render_security(request, disable_form=form, status=403)
    if done.ok:
        return done.response
    return _render_security(request, disable_form=form)


@require_POST
@login_required
def security_backup_codes(request):
    codes, error = attempt(lambda: two_factor.backup_codes_regenerate(user=request.user))
    if error:
        messages.error(request, error)
        return redirect("accounts:security")
    return render_backup_codes(request, codes, reverse("accounts:security"), first_time=False)
