"""The page an invitation link opens: accept as the signed-in person, or create the account."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from opsplatform.accounts import selectors, services
from opsplatform.accounts.forms import SignUpForm
from opsplatform.accounts.middleware import SESSION_ORGANIZATION_KEY
from opsplatform.accounts.views.auth import log_in
from opsplatform.accounts.views.helpers import attempt
from opsplatform.core.forms import submit

# Sign-up never goes through authenticate(), so the session needs its backend named.
SIGN_UP_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _accepted(request, invitation):
    request.session[SESSION_ORGANIZATION_KEY] = invitation.organization_id
    messages.success(request, f"Welcome to {invitation.organization.name}.")
    return redirect("accounts:dashboard")


@sensitive_post_parameters("password1", "password2")
@never_cache
def invitation_accept(request, token):
    invitation = selectors.invitation_by_token(token)
    if invitation is None or invitation.status != "pending":
        return render(request, "accounts/invitation_invalid.html", status=404)
    user = request.user
    signed_in = user.is_authenticated
    error = ""
    signup_form = None if signed_in else SignUpForm(email=invitation.email)
    if request.method == "POST" and signed_in:
        _, error = attempt(lambda: services.invitation_accept(token=token, user=user))
        if not error:
            return _accepted(request, invitation)
    elif request.method == "POST":
        signup_form = SignUpForm(request.POST, email=invitation.email)

        def sign_up(data):
            membership = services.invitation_sign_up(
                token=token,
                username=data["username"],
                password=data["password1"],
                display_name=data["display_name"],
            )
            log_in(request=request, user=membership.user, backend=SIGN_UP_BACKEND)
            return membership

        if submit(request, signup_form, sign_up, success="", redirect_to=None).ok:
            return _accepted(request, invitation)
    context = {
        "invitation": invitation,
        "signup_form": signup_form,
        "error": error,
        "email_matches": signed_in and (user.email or "").lower() == invitation.email.lower(),
        "login_url": f"{reverse('accounts:login')}?{urlencode({'next': request.path})}",
    }
    return render(request, "accounts/invitation.html", context)
