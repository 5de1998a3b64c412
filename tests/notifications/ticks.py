"""Running the escalation and delivery ticks in tests on an explicit clock, and reading back what
they did (outbox rows, the steps and notification verbs in the ledger)."""

from django.utils import timezone

from audit.models import LedgerEntry
from notifications.delivery import run_delivery_tick
from notifications.escalation import run_escalation_tick
from notifications.models import Notification, NotificationStatus
from tests.ledger import verbs as ledger_verbs
from tests.notifications.factories import make_channel, make_policy, step


def escalate(open_incident, **kwargs):
    """Open an incident and run its first escalation step: (incident, its one outbox row)."""
    incident = open_incident(**kwargs)
    run_escalation_tick(now=incident.next_escalation_at)
    return incident, Notification.objects.get(incident=incident)


def page(open_incident, **kwargs):
    """Open an incident, run its first step and deliver what is due now: (incident, delivery stats)."""
    incident = open_incident(**kwargs)
    now = timezone.now()
    run_escalation_tick(now=now)
    stats = run_delivery_tick(now=now)
    return incident, stats


def drive(until_done, start, *, limit=20):
    """Run delivery ticks, moving the clock to each row's next attempt, until ``until_done()``."""
    now = start
    for _ in range(limit):
        run_delivery_tick(now=now)
        if until_done():
            return now
        due = (
            Notification.objects.filter(status=NotificationStatus.FAILED).order_by("next_attempt_at").first()
        )
        assert due is not None, "nothing left to retry"
        now = due.next_attempt_at
    raise AssertionError("did not finish")


def verbs(incident) -> list[str]:
    """The notification verbs written on the incident, in order."""
    return ledger_verbs(incident, prefix="notification.")


def steps_run(incident) -> list[tuple[int, int]]:
    """(step, cycle) of every step the ledger says ran, in order."""
    entries = LedgerEntry.objects.filter(
        target_type="incidents.incident", target_id=str(incident.pk), verb="escalation.step_executed"
    ).order_by("sequence")
    return [(e.data["step"], e.data["cycle"]) for e in entries]


def recipients(incident) -> list[str]:
    """Who or what each of the incident's outbox rows goes to, in the order they were written."""
    rows = Notification.objects.filter(incident=incident).order_by("id")
    return [row.recipient.username if row.recipient else row.channel.name for row in rows]


def storm_pages(org, service, open_incident, receiver, count: int):
    """``count`` incidents of the service, each paging one webhook channel to ``receiver`` at its
    first step, that step run: the time their pages fell due."""
    hook = make_channel(org, kind="webhook", name="Hook", url=receiver.url("/hook")).channel
    make_policy(org, step(("channel", hook)), services=[service])
    for n in range(count):
        open_incident(title=f"Storm {n}", dedup_key=f"storm-{n}")
    now = timezone.now()
    run_escalation_tick(now=now)
    return now
