"""Monitoring data past retention (kinds ``check_results`` and ``check_minute_rollups`` in
``audit.retention.registry``). Hour rollups are kept: they are the long-term uptime record."""

from monitoring.eventlogs import CHECK_RESULTS
from monitoring.models import Rollup


def check_results_past(organization_id, cutoff):
    return CHECK_RESULTS.expired_queryset(organization_id, cutoff)


def minute_rollups_past(organization_id, cutoff):
    return Rollup.objects.filter(monitor__organization_id=organization_id, period="minute", start__lt=cutoff)
