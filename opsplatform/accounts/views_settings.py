"""Settings pages of the person (profile, password, two-factor) and of the organization."""

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from opsplatform.accounts import services, two_factor
from opsplatform.accounts.forms import CodeForm, OrganizationForm, ProfileForm
from opsplatform.accounts.views import organization_required
from opsplatform.accounts.views_auth import render_backup_codes
from opsplatform.core.capabilities import Capability
from opsplatform.core.forms import add_service_errors, first_error

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
    if form.is_valid():
        try:
            services.user_update_profile(actor=request.actor, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Profile saved.")
            return redirect("accounts:profile")
    return _render_profile(request, form=form)


@sensitive_post_parameters("old_password", "new_password1", "new_password2")
@require_POST
@login_required
def password_change(request):
    password_form = PasswordChangeForm(request.user, request.POST)
    if password_form.is_valid():
        try:
            user = services.user_change_password(
                actor=request.actor, user=request.user, password=password_form.cleaned_data["new_password1"]
            )
        except ValidationError as exc:
            add_service_errors(password_form, exc)
        else:
            # Keeps this session signed in; every other session of the person ends.
            update_session_auth_hash(request, user)
            messages.success(request, "Password changed.")
            return redirect("accounts:profile")
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
    if not form.is_valid():
        return _render_security(request, disable_form=form)
    try:
        two_factor.two_factor_disable(user=request.user, code=form.cleaned_data["code"])
    except PermissionDenied as exc:
        form.add_error(None, str(exc))
        return _render_security(request, disable_form=form, status=403)
    except ValidationError as exc:
        add_service_errors(form, exc)
        return _render_security(request, disable_form=form)
    messages.success(request, "Two-factor authentication is off.")
    return redirect("accounts:security")


@require_POST
@login_required
def security_backup_codes(request):
    try:
        codes = two_factor.backup_codes_regenerate(user=request.user)
    except ValidationError as exc:
        messages.error(request, first_error(exc))
        return redirect("accounts:security")
    return render_backup_codes(request, codes, reverse("accounts:security"), first_time=False)


# --- organization -------------------------------------------------------------------------------


@organization_required
def organization_settings(request):
    org = request.organization
    actor = request.actor
    actor.require(Capability.ORGANIZATION_VIEW)
    form = OrganizationForm(
        initial={
            "name": org.name,
            "time_zone": org.time_zone,
            "require_2fa_for_admins": org.require_2fa_for_admins,
        }
    )
    if request.method == "POST":
        actor.require(Capability.ORGANIZATION_MANAGE)
        form = OrganizationForm(request.POST)
        if form.is_valid():
            try:
                services.organization_update(actor=actor, organization=org, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Organization settings saved.")
                return redirect("accounts:organization_settings")
    context = {"form": form, "can_manage": actor.can(Capability.ORGANIZATION_MANAGE)}
    return render(request, "accounts/organization_settings.html", context)
