"""A status page's custom domain: ``https://status.example.com/`` answers with that page.

Only the root path is taken over; everything else (the page's ``summary.json``, feed, subscribe
links under ``/status/<slug>/``, static files) is served as on any host. The host must be in
``ALLOWED_HOSTS`` like every other. The host → slug map is cached briefly and dropped when a page
changes, so the lookup costs one cache read on root requests and nothing on others.
"""

from __future__ import annotations

from django.core.cache import cache

from monitoring.statuspages.models import StatusPage
from monitoring.statuspages.views.public import public_page

DOMAINS_KEY = "statuspages:domains"
DOMAINS_SECONDS = 60


def domain_map() -> dict[str, str]:
    found = cache.get(DOMAINS_KEY)
    if found is None:
        found = dict(
            StatusPage.objects.filter(published=True)
            .exclude(custom_domain="")
            .values_list("custom_domain", "slug")
        )
        cache.set(DOMAINS_KEY, found, DOMAINS_SECONDS)
    return found


def forget_domains() -> None:
    cache.delete(DOMAINS_KEY)


class CustomDomainMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == "/" and request.method in ("GET", "HEAD"):
            slug = domain_map().get(request.get_host().rsplit(":", 1)[0].lower())
            if slug is not None:
                return public_page(request, slug)
        return self.get_response(request)
