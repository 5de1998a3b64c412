"""An object grant on one incident lets a viewer act on that incident only."""

import pytest
from django.core.exceptions import PermissionDenied

from incidents.models import Status
from incidents.services import incident_acknowledge
from opsplatform.core.capabilities import Capability
from opsplatform.core.object_grants import grant_object_capability, revoke_object_capability


def test_incident_grant_and_revoke(actor_as, users, open_incident):
    granted, other = open_incident(title="granted"), open_incident(title="other")
    grant_object_capability(users["viewer"], Capability.INCIDENT_ACKNOWLEDGE, granted)
    incident_acknowledge(actor=actor_as("viewer"), incident=granted)
    granted.refresh_from_db()
    assert granted.status == Status.ACKNOWLEDGED
    with pytest.raises(PermissionDenied):
        incident_acknowledge(actor=actor_as("viewer"), incident=other)
    revoke_object_capability(users["viewer"], Capability.INCIDENT_ACKNOWLEDGE, other)  # no grant: a no-op
    revoke_object_capability(users["viewer"], Capability.INCIDENT_ACKNOWLEDGE, granted)
    fresh = actor_as("viewer")
    assert not fresh.can(Capability.INCIDENT_ACKNOWLEDGE, granted)
