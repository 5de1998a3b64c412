"""What the account pages share: the organization gate, the safe ``next`` URL, the HTMX test."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme

from opsplatform.core.forms import first_error


def safe_next_url(request) -> str:
    """The ``next`` parameter if it points back into this site, else an empty string."""
    candidate = (request.POST.get("next") or request.GET.get("next") or "").strip()
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


def organization_required(view):
    """Signed in and working in an organization; people without one are sent to the dashboard
    (which tells them so) rather than shown a refusal. Goes outside ``@requires``."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.organization is None:
            messages.info(request, "You are not a member of any organization yet.")
            return redirect("accounts:dashboard")
        return view(request, *args, **kwargs)

    return login_required(wrapper)


def is_htmx(request) -> bool:
    return bool(getattr(request, "htmx", False))


def attempt(call) -> tuple[object, str]:
    """``(result, "")``, or ``(None, reason)`` when the service refused: for HTMX rows that show the
    reason in place, where neither a form nor a flash message fits."""
    try:
        return call(), ""
    except ValidationError as exc:
        return None, first_error(exc)


def paginate(request, queryset, size: int) -> Page:
    """The page of ``queryset`` the request's ``page`` parameter asks for (the last one when past it)."""
    return Paginator(queryset, size).get_page(request.GET.get("page"))
