"""Signing in and out, and the second-factor pages (verify, setup, fresh backup codes).

A failed sign-in, an unknown username and a locked-out username all get the very same page, so
the answer tells an attacker neither whether an account exists nor whether it is locked.
"""

from axes.helpers import get_client_ip_address
from django.contrib.auth import authenticate
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp import user_has_device

from opsplatform.accounts import two_factor
from opsplatform.accounts.forms import CodeForm, LoginForm, SetupCodeForm
from opsplatform.accounts.policy import local_sign_in_allowed, sso_required_organizations
from opsplatform.accounts.views.helpers import safe_next_url
from opsplatform.core import ledger
from opsplatform.core.actors import Actor, ActorKind
from opsplatform.core.forms import submit

LOGIN_FAILED = (
    "Sign-in failed. Check your username and password. After repeated failures sign-in pauses "
    "for a few minutes."
)


def _with_next(url_name: str, next_url: str) -> str:
    url = reverse(url_name)
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def _render_login(request, form, *, failed: bool = False):
    return render(
        request,
        "accounts/login.html",
        {
            "form": form,
            "failed": failed,
            "failed_message": LOGIN_FAILED,
            "next": safe_next_url(request),
        },
    )


def failed_login_response(request):
    """The one answer to every refused sign-in: wrong password, unknown user, locked out."""
    form = LoginForm(initial={"username": request.POST.get("username", "")[:150]})
    response = _render_login(request, form, failed=True)
    # The lockout path bypasses the view's decorators; identical headers keep the two paths alike.
    add_never_cache_headers(response)
    return response


def lockout_response(request, credentials, *args, **kwargs):
    """django-axes' AXES_LOCKOUT_CALLABLE; axes passes (request, response, credentials) or
    (request, credentials) depending on its version, and neither matters: the page is the same."""
    return failed_login_response(request)


def log_in(
    *, request, user, backend: str | None = None, method: str = "password", extra: dict | None = None
) -> None:
    """Start the session and write ``auth.login`` (platform chain) in one transaction."""
    with transaction.atomic():
        auth_login(request, user, backend=backend)
        ledger.record(
            actor=Actor(kind=ActorKind.USER, organization=None, user=user),
            verb="auth.login",
            target=user,
            data={"ip": get_client_ip_address(request) or "", "method": method, **(extra or {})},
            organization=None,
        )


def sso_required_response(request, user, *, method: str):
    """The page for a member whose organization signs in only through its identity provider."""
    ledger.record(
        actor=Actor(kind=ActorKind.USER, organization=None, user=user),
        verb="auth.login_refused",
        target=user,
        data={"reason": "sso_required", "method": method, "ip": get_client_ip_address(request) or ""},
        organization=None,
    )
    response = render(
        request,
        "accounts/sso_required.html",
        {"organizations": sso_required_organizations(user)},
        status=403,
    )
    add_never_cache_headers(response)
    return response


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
def login_view(request):
    next_url = safe_next_url(request)
    if request.method != "POST":
        if request.user.is_authenticated:
            return redirect(next_url or "accounts:dashboard")
        return _render_login(request, LoginForm())
    form = LoginForm(request.POST)
    if not form.is_valid():
        return _render_login(request, form)
    user = authenticate(
        request=request, username=form.cleaned_data["username"], password=form.cleaned_data["password"]
    )
    if user is None:
        return failed_login_response(request)
    # Only after the right password: the refusal tells nothing to someone who does not know it.
    if not local_sign_in_allowed(user):
        return sso_required_response(request, user, method="password")
    log_in(request=request, user=user)
    return after_first_factor(user, next_url)


def after_first_factor(user, next_url: str):
    """Where a person goes once a password, link or provider has said who they are."""
    if user_has_device(user, confirmed=True):
        return redirect(_with_next("accounts:two_factor_verify", next_url))
    return redirect(next_url or "accounts:dashboard")


@require_POST
def logout_view(request):
    user = request.user
    with transaction.atomic():
        auth_logout(request)
        if user.is_authenticated:
            # The ledger entry also makes this session's live sockets re-check after commit: the
            # session is gone, so they close; the person's other sessions keep theirs.
            ledger.record(
                actor=Actor(kind=ActorKind.USER, organization=None, user=user),
                verb="auth.logout",
                target=user,
                data={},
                organization=None,
                recheck_access_of=user.pk,
            )
    return redirect("accounts:login")


def _complete_second_factor(request, device):
    otp_login(request, device)
    # A new session key once the session holds more privilege, like after the password.
    request.session.cycle_key()
    return device


@sensitive_post_parameters("code")
@never_cache
@login_required
def two_factor_verify(request):
    next_url = safe_next_url(request)
    user = request.user
    if user.is_verified():
        return redirect(next_url or "accounts:dashboard")
    if not user_has_device(user, confirmed=True):
        return redirect(next_url or "accounts:dashboard")
    form = CodeForm(request.POST or None)
    if request.method == "POST":
        done = submit(
            request,
            form,
            lambda data: _complete_second_factor(
                request, two_factor.second_factor_verify(user=user, code=data["code"])
            ),
            success="",
            redirect_to=next_url or "accounts:dashboard",
        )
        if done.ok:
            return done.response
    return render(request, "accounts/two_factor_verify.html", {"form": form, "next": next_url})


@sensitive_post_parameters("code")
@never_cache
@login_required
def two_factor_setup(request):
    next_url = safe_next_url(request)
    user = request.user
    if two_factor.confirmed_totp_device(user) is not None:
        if user.is_verified():
            return redirect("accounts:security")
        # Enrolling another device must not become a way around the existing one.
        return redirect(_with_next("accounts:two_factor_verify", next_url))
    device = two_factor.totp_enroll(user=user)
    form = SetupCodeForm(request.POST or None)
    if request.method == "POST":

        def confirm(data):
            enrollment = two_factor.totp_confirm(user=user, device=device, code=data["code"])
            _complete_second_factor(request, enrollment.device)
            return enrollment

        done = submit(request, form, confirm, success="", redirect_to=None)
        if done.ok:
            return render_backup_codes(request, done.result.backup_codes, next_url, first_time=True)
    context = {
        "form": form,
        "next": next_url,
        "qr_svg": two_factor.qr_code_svg(device),
        "secret": two_factor.totp_secret_base32(device),
        "policy_required": two_factor.policy_requires_two_factor(user),
    }
    return render(request, "accounts/two_factor_setup.html", context)


def render_backup_codes(request, codes, next_url: str, *, first_time: bool):
    """Backup codes go out in this one response and are never shown again."""
    response = render(
        request,
        "accounts/backup_codes.html",
        {"codes": codes, "continue_url": next_url or reverse("accounts:dashboard"), "first_time": first_time},
    )
    response["Cache-Control"] = "no-store"
    return response
