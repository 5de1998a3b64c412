"""One incident's live channel (``ws/incidents/<id>/``): the same membership rules as the
organization channel, and an incident of another organization is simply not found (4404)."""

from channels.db import database_sync_to_async

from incidents.models import Incident
from incidents.realtime import incident_group
from opsplatform.realtime.consumers import OrganizationConsumer


class IncidentConsumer(OrganizationConsumer):
    async def group_for(self, organization_id: int) -> str | None:
        incident_id = self.scope["url_route"]["kwargs"]["incident_id"]
        exists = await database_sync_to_async(
            Incident.objects.filter(pk=incident_id, organization_id=organization_id).exists
        )()
        return incident_group(incident_id) if exists else None
