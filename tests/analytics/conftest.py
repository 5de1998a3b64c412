"""A fixed data set with figures computed by hand (see the comments beside each row).

Incidents (organization time zone UTC), services Checkout (A) and Search (B), team Payments:

=====  =======  ====  ==================  ===========  ===========  ===========  ==========  ===========
id     service  sev   created (UTC)       first ack    resolved     ack SLA      resolve SLA escalated
=====  =======  ====  ==================  ===========  ===========  ===========  ==========  ===========
I1     A        sev1  2026-03-02 10:00    +300 s       +3600 s      met          met         no
I2     A        sev2  2026-03-02 12:00    +1200 s      +7200 s      breached     breached    yes
I3     B        sev3  2026-03-02 20:00    never        +1800 s      (no SLA)     (no SLA)    no
I4     B        sev1  2026-03-03 09:00    +600 s       open         met          breached    no
I5     A        sev2  2026-03-03 15:00    +120 s (*)   +3600 s      (no SLA)     (no SLA)    no
=====  =======  ====  ==================  ===========  ===========  ===========  ==========  ===========

(*) acknowledged at 15:02, re-triggered, acknowledged again at 15:30: MTTA counts the first.

On-call deliveries (all sent unless said otherwise), organization days in UTC:

* Berit, Europe/Berlin; summer time begins Sunday 2026-03-29 at 02:00 local (UTC+1 → UTC+2):
  03-29 00:30Z = 01:30 CET sleep; 03-29 06:30Z = 08:30 CEST, a Sunday: off hours;
  03-30 06:30Z = 08:30 CEST Monday: business (e-mail and SMS of one step: one interruption, two
  notifications); 03-30 16:30Z = 18:30 CEST: off hours; 03-30 20:15Z = 22:15 CEST: sleep.
* Nolan, America/New_York; summer time ends Sunday 2026-11-01 at 02:00 local (UTC-4 → UTC-5):
  11-01 05:30Z = 01:30 EDT sleep; 11-02 12:30Z = 07:30 EST sleep; 11-02 22:30Z = 17:30 EST
  business; and a dead letter on 11-02 that never reached him.
Each delivery below is its own escalation step (another epoch) unless said otherwise; only I2 has a
delivery for a second step.
"""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from incidents.models import Incident, Status
from notifications.models import Notification, NotificationStatus
from opsplatform.analytics.services.refresh import refresh_rollups
from opsplatform.core.capabilities import Role
from tests.accounts.factories import MembershipFactory
from tests.incidents.factories import IncidentFactory, ServiceFactory
from tests.notifications.factories import make_schedule


def at(day: str, clock: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=UTC)


S = timedelta(seconds=1)


def _incident(org, team, service, severity, created, *, ack=None, resolved=None, **extra):
    return IncidentFactory(
        organization=org,
        team=team,
        service=service,
        severity=severity,
        created_at=created,
        updated_at=created,
        acknowledged_at=ack,
        resolved_at=resolved,
        status=Status.RESOLVED if resolved else (Status.ACKNOWLEDGED if ack else Status.TRIGGERED),
        **extra,
    )


_keys = iter(range(1, 10_000))


def deliver(org, incident, user, sent_at, *, step=0, epoch=0, medium="email", status=NotificationStatus.SENT):
    return Notification.objects.create(
        organization=org,
        incident=incident,
        idempotency_key=f"k{next(_keys)}",
        step=step,
        epoch=epoch,
        recipient=user,
        medium=medium,
        status=status,
        created_at=sent_at,
        updated_at=sent_at,
        sent_at=sent_at if status == NotificationStatus.SENT else None,
    )


@pytest.fixture
def world(org, team, users):
    checkout = ServiceFactory(organization=org, name="Checkout", slug="checkout", owner_team=team)
    search = ServiceFactory(organization=org, name="Search", slug="search", owner_team=team)
    d2, d3 = "2026-03-02", "2026-03-03"
    i1 = _incident(
        org,
        team,
        checkout,
        "sev1",
        at(d2, "10:00"),
        ack=at(d2, "10:05"),
        resolved=at(d2, "11:00"),
        ack_due_at=at(d2, "10:15"),
        resolve_due_at=at(d2, "12:00"),
    )
    i2 = _incident(
        org,
        team,
        checkout,
        "sev2",
        at(d2, "12:00"),
        ack=at(d2, "12:20"),
        resolved=at(d2, "14:00"),
        ack_due_at=at(d2, "12:15"),
        ack_breached_at=at(d2, "12:15"),
        resolve_due_at=at(d2, "13:00"),
        resolve_breached_at=at(d2, "13:00"),
    )
    i3 = _incident(org, team, search, "sev3", at(d2, "20:00"), resolved=at(d2, "20:30"))
    i4 = _incident(
        org,
        team,
        search,
        "sev1",
        at(d3, "09:00"),
        ack=at(d3, "09:10"),
        ack_due_at=at(d3, "09:30"),
        resolve_due_at=at(d3, "13:00"),
        resolve_breached_at=at(d3, "13:00"),
    )
    i5 = _incident(org, team, checkout, "sev2", at(d3, "15:00"), ack=at(d3, "15:02"))
    # Re-triggered (acknowledged_at cleared), acknowledged again, resolved: through plain UPDATEs,
    # as the services and ticks write them.
    Incident.objects.filter(pk=i5.pk).update(status=Status.TRIGGERED, acknowledged_at=None)
    Incident.objects.filter(pk=i5.pk).update(status=Status.ACKNOWLEDGED, acknowledged_at=at(d3, "15:30"))
    Incident.objects.filter(pk=i5.pk).update(status=Status.RESOLVED, resolved_at=at(d3, "16:00"))

    berit = MembershipFactory(organization=org, role=Role.OPERATOR, user__username="berit").user
    nolan = MembershipFactory(organization=org, role=Role.OPERATOR, user__username="nolan").user
    berit.time_zone, nolan.time_zone = "Europe/Berlin", "America/New_York"
    berit.save(update_fields=["time_zone"])
    nolan.save(update_fields=["time_zone"])
    team.members.add(berit, nolan)

    # I2 escalated: its second step paged Berit (an interruption on 03-02 12:10 UTC = 13:10 CET, Monday).
    deliver(org, i2, berit, at(d2, "12:10"), step=1)
    deliver(org, i1, berit, at("2026-03-29", "00:30"))
    deliver(org, i1, berit, at("2026-03-29", "06:30"), epoch=1)
    deliver(org, i4, berit, at("2026-03-30", "06:30"), medium="email")
    deliver(org, i4, berit, at("2026-03-30", "06:30") + 20 * S, medium="sms")
    deliver(org, i4, berit, at("2026-03-30", "16:30"), epoch=2)
    deliver(org, i4, berit, at("2026-03-30", "20:15"), epoch=3)
    deliver(org, i3, nolan, at("2026-11-01", "05:30"))
    deliver(org, i3, nolan, at("2026-11-02", "12:30"), epoch=2)
    deliver(org, i3, nolan, at("2026-11-02", "22:30"), epoch=3)
    deliver(org, i3, nolan, at("2026-11-02", "23:00"), epoch=4, status=NotificationStatus.DEAD)

    team.time_zone = "Europe/Berlin"
    team.save(update_fields=["time_zone"])
    # Daily 09:00 Berlin handoff from Saturday 03-28: Berit, then Nolan, then Berit. The handoff on
    # 03-29 is at 07:00Z (summer time), so the first shift is 23 hours long.
    make_schedule(
        org,
        team,
        name="Payments primary",
        layers=[
            {
                "rotation": "daily",
                "start_date": date(2026, 3, 28),
                "handoff_time": time(9),
                "participants": [berit, nolan],
            }
        ],
    )
    refresh_rollups()
    return {
        "checkout": checkout,
        "search": search,
        "incidents": [i1, i2, i3, i4, i5],
        "berit": berit,
        "nolan": nolan,
    }
