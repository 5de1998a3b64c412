"""Access for page views: who may open a page, and which object a request may read or change.

Views never call ``actor.require`` inline: a page that needs a capability says so with
``@requires``, and a page about one object fetches it with ``get_for_read_or_404`` /
``get_for_write_or_404``. Another organization's object is a 404 (its existence does not leak); a
member of the right organization without the capability gets a 403.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from opsplatform.core.tenancy import get_in_organization_or_404


def member_required(view):
    """Signed in and working in an organization; ``request.actor`` is then that membership."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.organization is None:
            return render(request, "no_organization.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


def requires(capability: str, *, post: str | None = None):
    """A member page that needs ``capability`` to open, and ``post`` (when given) to submit."""

    def decorate(view):
        @member_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            request.actor.require(capability)
            if post is not None and request.method == "POST":
                request.actor.require(post)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def get_for_read_or_404(request, queryset, capability: str, **lookup):
    """The object of the request's organization, if the member may ``capability`` on it."""
    obj = get_in_organization_or_404(queryset, request.organization, **lookup)
    request.actor.require(capability, obj)
    return obj


def get_for_write_or_404(request, queryset, capability: str, **lookup):
    """Same as :func:`get_for_read_or_404`, named for the pages that change the object.

    The lookup comes first so that another organization's id is a 404 whatever the role; object
    grants (a viewer allowed to change this one object) are honoured because the check sees it.
    """
    return get_for_read_or_404(request, queryset, capability, **lookup)
