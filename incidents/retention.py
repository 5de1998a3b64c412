"""Incident data past retention (kinds ``raw_payloads`` and ``resolved_alerts`` in
``audit.retention.registry``): selectors the retention runner deletes from in batches."""

from django.db.models import Q

from incidents.eventlogs import RAW_PAYLOADS
from incidents.models import Alert
from incidents.models.enums import Status


def raw_payloads_past(organization_id, cutoff):
    return RAW_PAYLOADS.expired_queryset(organization_id, cutoff)


def resolved_alerts_past(organization_id, cutoff):
    """Alerts of incidents resolved before the cutoff, and standalone alerts last seen before it.

    An alert of an open incident stays whatever its age: the incident still needs it.
    """
    return Alert.objects.filter(organization_id=organization_id, active=False).filter(
        Q(incident__status=Status.RESOLVED, incident__resolved_at__lt=cutoff)
        | Q(incident__isnull=True, last_seen_at__lt=cutoff)
    )
