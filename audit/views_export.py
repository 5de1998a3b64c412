"""The audit log as CSV: the entries the page's filters select, streamed (a ledger can be long)."""

import csv
import json
from datetime import UTC
from itertools import islice

from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.http import require_safe

from audit.forms import LedgerFilterForm
from audit.selectors import ledger_entries
from audit.views_targets import label_for, target_labels
from opsplatform.core.access import requires
from opsplatform.core.capabilities import Capability

HEADER = [
    "sequence",
    "created_at_utc",
    "actor_type",
    "actor",
    "verb",
    "target_type",
    "target_id",
    "target",
    "data",
]
BATCH = 500  # entries whose targets are named with one query per type


class _Echo:
    def write(self, value):
        return value


def _rows(entries, organization):
    writer = csv.writer(_Echo())
    yield writer.writerow(HEADER)
    iterator = entries.iterator(chunk_size=BATCH)
    while batch := list(islice(iterator, BATCH)):
        labels = target_labels(batch, organization)
        for entry in batch:
            yield writer.writerow(
                [
                    entry.sequence,
                    entry.created_at.astimezone(UTC).isoformat(),
                    entry.actor_type,
                    entry.actor_label,
                    entry.verb,
                    entry.target_type,
                    entry.target_id,
                    label_for(entry, labels),
                    json.dumps(entry.data, sort_keys=True, ensure_ascii=False),
                ]
            )


@require_safe
@requires(Capability.AUDIT_VIEW)
def audit_export(request):
    form = LedgerFilterForm(request.GET, organization=request.organization)
    if not form.is_valid():
        problems = [
            f"{form.fields[f].label if f in form.fields else 'filters'}: {e}"
            for f, es in form.errors.items()
            for e in es
        ]
        return HttpResponse(
            "Check the filters: " + "; ".join(problems) + "\n",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    entries = ledger_entries(organization=request.organization, **form.selector_filters())
    # Every entry the filters select, newest first; the page's position in the chain does not apply.
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(
        _rows(entries, request.organization), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="audit-{request.organization.slug}-{stamp}.csv"'
    return response
