"""The organization's audit log page (HTMX: the filter form and live updates swap the results)."""

import json
from dataclasses import dataclass
from urllib.parse import urlencode

from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_safe

from audit.forms import LedgerFilterForm
from audit.models import LedgerCheckpoint, LedgerEntry
from audit.selectors import ledger_entries
from audit.views_targets import label_for, target_labels
from opsplatform.core.access import requires
from opsplatform.core.capabilities import Capability

PAGE_SIZE = 50
RESULTS_ID = "ledger-results"  # the element the filter form, pager and live refresh swap


@dataclass(frozen=True)
class LedgerPage:
    entries: list[LedgerEntry]
    newer_cursor: int | None  # "after" value of the previous (newer) page, when there is one
    older_cursor: int | None  # "before" value of the next (older) page, when there is one

    @property
    def is_newest(self) -> bool:
        return self.newer_cursor is None


def keyset_page(entries, *, before=None, after=None, size=PAGE_SIZE) -> LedgerPage:
    """One page of ``entries`` (newest first) by sequence position, not by OFFSET.

    A ledger only grows: OFFSET and COUNT(*) get slower with every entry and pages shift while
    someone reads them, whereas a position in the chain stays put and is one index range scan.
    """
    if after is not None:
        rows = list(entries.filter(sequence__gt=after).order_by("sequence")[: size + 1])
        has_newer = len(rows) > size
        rows = rows[:size][::-1]
        top, bottom = (rows[0].sequence, rows[-1].sequence) if rows else (after, after + 1)
        has_older = entries.filter(sequence__lt=bottom).exists()
    else:
        window = entries if before is None else entries.filter(sequence__lt=before)
        rows = list(window[: size + 1])
        has_older = len(rows) > size
        rows = rows[:size]
        top, bottom = (rows[0].sequence, rows[-1].sequence) if rows else ((before or 1) - 1, before)
        has_newer = before is not None and entries.filter(sequence__gt=top).exists()
    return LedgerPage(
        entries=rows,
        newer_cursor=top if has_newer else None,
        older_cursor=bottom if has_older else None,
    )


def _url(request, **position) -> str:
    """This page's URL with its filters (empty ones dropped) at another page position."""
    params = [
        (key, value)
        for key, values in request.GET.lists()
        if key not in LedgerFilterForm.CURSOR_FIELDS
        for value in values
        if value != ""
    ]
    params += [(key, value) for key, value in position.items() if value is not None]
    query = urlencode(params)
    return f"{request.path}?{query}" if query else request.path


@require_safe
@requires(Capability.AUDIT_VIEW)
def audit_log(request):
    form = LedgerFilterForm(request.GET, organization=request.organization)
    page = None
    if form.is_valid():
        entries = ledger_entries(organization=request.organization, **form.selector_filters())
        page = keyset_page(entries, before=form.cleaned_data["before"], after=form.cleaned_data["after"])
        labels = target_labels(page.entries, request.organization)
        for entry in page.entries:
            entry.data_pretty = json.dumps(entry.data, indent=2, sort_keys=True, ensure_ascii=False)
            entry.target_label = label_for(entry, labels)
    context = {
        "form": form,
        "page": page,
        "newest_url": _url(request),
        "export_url": _url(request).replace(request.path, reverse("audit:export"), 1),
        "filtered": any(
            value for key, value in request.GET.items() if key not in LedgerFilterForm.CURSOR_FIELDS
        ),
        "newer_url": _url(request, after=page.newer_cursor) if page and not page.is_newest else None,
        "older_url": _url(request, before=page.older_cursor)
        if page and page.older_cursor is not None
        else None,
        "archived_through": LedgerCheckpoint.objects.filter(organization=request.organization)
        .order_by("-last_sequence")
        .values_list("last_sequence", flat=True)
        .first(),
        # Live refresh only where new entries would appear: the newest page, with no upper time bound.
        "live": page is not None and page.is_newest and form.cleaned_data.get("until") is None,
    }
    # Only the results region asked for by id gets the fragment; any other htmx navigation (a boosted
    # link, a history restore) needs the whole page.
    fragment = request.htmx and request.htmx.target == RESULTS_ID and not request.htmx.history_restore_request
    response = render(request, "audit/_log_results.html" if fragment else "audit/log.html", context)
    # The same URL answers a full page or a fragment: caches must keep them apart.
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response
