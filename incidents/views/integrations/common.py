"""What every integration page shares: loading the integration for the viewer, the page size, and
the one-time answers that must never be cached."""

from django.utils.cache import add_never_cache_headers

from incidents.models import Integration
from opsplatform.core.access import get_for_write_or_404

PAGE_SIZE = 25


def no_store(response):
    add_never_cache_headers(response)
    response["Cache-Control"] = "no-store"
    return response


def integration_for(request, pk, capability: str) -> Integration:
    return get_for_write_or_404(request, Integration.objects.select_related("service"), capability, pk=pk)
