"""E-mail sign-in link pages: ask for a link, open it (a confirmation button), be signed in.

Opening the link (GET) changes nothing, so mail scanners that fetch links cannot use them up; the
button posts back to the same address. The browser nonce cookie is set on the request page and read
on the confirmation POST (SameSite=Lax: it travels on the top-level navigation from the mail client).
"""

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.contrib.auth import logout as auth_logout
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from opsplatform.accounts import signin_links
from opsplatform.accounts.forms import SignInLinkForm
from opsplatform.accounts.views.auth import after_first_factor, log_in

COOKIE_PATH = "/accounts/login/link/"


@csrf_protect
@never_cache
def signin_link_request(request):
    form = SignInLinkForm(request.POST or None)
    context = {"form": form, "sent": False, "throttled": False}
    status = 200
    if request.method == "POST" and form.is_valid():
        nonce = request.COOKIES.get(signin_links.COOKIE_NAME) or signin_links.new_browser_nonce()
        try:
            signin_links.signin_link_request(
                email=form.cleaned_data["email"], ip=get_client_ip_address(request) or "", browser_nonce=nonce
            )
        except signin_links.Throttled:
            context["throttled"] = True
            status = 429
        else:
            context["sent"] = True
            context["form"] = SignInLinkForm()
        response = render(request, "accounts/signin_link_request.html", context, status=status)
        _set_nonce(response, request, nonce)
        return response
    if request.method == "POST":
        status = 400
    return render(request, "accounts/signin_link_request.html", context, status=status)


def _set_nonce(response, request, nonce: str) -> None:
    response.set_cookie(
        signin_links.COOKIE_NAME,
        nonce,
        max_age=int(settings.SIGNIN_LINK_TTL.total_seconds()),
        path=COOKIE_PATH,
        secure=request.is_secure() or settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


@csrf_protect
@never_cache
def signin_link_open(request, token: str):
    if request.method != "POST":
        return render(request, "accounts/signin_link_open.html", {"token": token})
    try:
        user = signin_links.signin_link_consume(
            token=token,
            browser_nonce=request.COOKIES.get(signin_links.COOKIE_NAME, ""),
            ip=get_client_ip_address(request) or "",
        )
    except signin_links.LinkRefused as refused:
        return render(
            request,
            "accounts/signin_link_refused.html",
            {"message": refused.message, "reason": refused.reason},
            status=400,
        )
    if request.user.is_authenticated and request.user.pk != user.pk:
        auth_logout(request)
    log_in(
        request=request, user=user, backend="django.contrib.auth.backends.ModelBackend", method="email_link"
    )
    response = after_first_factor(user, "")
    response.delete_cookie(signin_links.COOKIE_NAME, path=COOKIE_PATH)
    return response
