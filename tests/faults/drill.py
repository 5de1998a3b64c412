"""One round of a fault drill, and what must hold after it.

A round: senders start (PagerDuty and Alertmanager events, see ``load``), a health probe polls
``/healthz``; after ``WARMUP_SECONDS`` the fault starts (a server is stopped or killed) and lasts
``OUTAGE_SECONDS``; then the server is started again on the same address, the senders go on for
``AFTER_SECONDS`` and stop. The round then waits (at most ``SETTLE_SECONDS``) until every incident
its accepted events opened has run its first escalation step and every page of it is delivered.

Then it checks, from the database and from what the peers received:

* every answer was a 202, or a 503/429 with ``Retry-After``: no 500, no connection dropped without
  an answer, no event given up on;
* every accepted dedup key has its alert in the database, joined to one incident (one per key:
  repeats and client retries joined it);
* every page (outbox row) of those incidents was delivered, and exactly once: one request or e-mail
  per delivery id at the peers, none for a delivery id the outbox does not have;
* ``/healthz`` answered 503 naming the dependency during the outage and 200 after it;
* the runner is still running and each of web, worker and beat is alive (a child that died was
  restarted by the runner, not by hand).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.faults.load import HealthProbe, Probe, Sender, Traffic

WARMUP_SECONDS = 4.0
OUTAGE_SECONDS = 5.0
AFTER_SECONDS = 5.0
SETTLE_SECONDS = 90.0
PD_RATE = 6.0  # events per second
AM_RATE = 3.0  # notifications (of two alerts) per second
ORG_SLUG = "acme"


@dataclass
class RoundReport:
    number: int
    dependency: str
    fault_at: float = 0.0
    restart_at: float = 0.0  # the restart command started
    back_at: float = 0.0  # the server answers again
    traffic: Traffic = field(default_factory=Traffic)
    probes: list[Probe] = field(default_factory=list)
    incidents: int = 0
    pages: int = 0
    settle_seconds: float = 0.0
    first_accept_after: float | None = None
    health_back_after: float | None = None
    restarts: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def figures(self) -> str:
        statuses: dict = {}
        for attempt in self.traffic.attempts:
            label = str(attempt.status) if attempt.status is not None else attempt.error
            statuses[label] = statuses.get(label, 0) + 1
        outage = self.back_at - self.fault_at
        return (
            f"{self.dependency} round {self.number}: outage {outage:.1f} s; "
            f"{len(self.traffic.accepted)} events accepted ({len(self.traffic.accepted_keys())} dedup keys, "
            f"{self.incidents} incidents), attempts {dict(sorted(statuses.items()))}; "
            f"first 202 {_seconds(self.first_accept_after)} and /healthz 200 "
            f"{_seconds(self.health_back_after)} after the restart; {self.pages} pages delivered, "
            f"settled {self.settle_seconds:.1f} s after the senders stopped; "
            f"children restarted {self.restarts}"
        )


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f} s"


def run_round(world, number: int, dependency: str, fault: Callable[[], None], recover: Callable[[], None]):
    report = RoundReport(number=number, dependency=dependency)
    stop = threading.Event()
    prefix = f"{dependency}-{world.run_id}-{number}"
    senders = [
        Sender(world.platform.url, "pagerduty", f"{prefix}-pd", PD_RATE, report.traffic, stop),
        Sender(world.platform.url, "alertmanager", f"{prefix}-am", AM_RATE, report.traffic, stop),
    ]
    probe = HealthProbe(world.platform.url, stop)
    restarts_before = world.platform.restarts()
    for thread in (*senders, probe):
        thread.start()
    time.sleep(WARMUP_SECONDS)
    report.fault_at = time.time()
    fault()
    time.sleep(OUTAGE_SECONDS)
    report.restart_at = time.time()
    recover()
    report.back_at = time.time()
    time.sleep(AFTER_SECONDS)
    stop.set()
    for thread in (*senders, probe):
        thread.join(timeout=120)
    stopped_at = time.monotonic()
    report.probes = probe.probes
    report.restarts = {
        name: count - restarts_before.get(name, 0) for name, count in world.platform.restarts().items()
    }
    _check_answers(report)
    _check_health(report)
    keys = sorted(report.traffic.accepted_keys())
    incident_ids = _check_alerts(world, keys, report)
    report.pages = _settle_and_check_pages(world, incident_ids, report)
    report.settle_seconds = time.monotonic() - stopped_at
    _check_processes(world, report)
    return report


def _check_answers(report: RoundReport) -> None:
    traffic = report.traffic
    if traffic.abandoned:
        report.problems.append(f"{len(traffic.abandoned)} events never accepted: {traffic.abandoned[:5]}")
    bad = [
        attempt
        for attempt in traffic.attempts
        if not (
            attempt.status == 202 or (attempt.status in (429, 503) and (attempt.retry_after or "").isdigit())
        )
    ]
    if bad:
        report.problems.append(f"{len(bad)} answers other than 202 or 503/429 with Retry-After: {bad[:5]}")
    after = [event.at - report.back_at for event in traffic.accepted if event.at >= report.back_at]
    report.first_accept_after = min(after) if after else None
    if report.first_accept_after is None:
        report.problems.append("no event was accepted after the restart")


def _check_health(report: RoundReport) -> None:
    # Answers taken while the server was down for sure: from a second after the stop to the restart.
    during = [p for p in report.probes if report.fault_at + 1.0 <= p.at <= report.restart_at]
    reported = [p for p in during if p.status == 503 and (p.body or {}).get(report.dependency) == "error"]
    if not reported:
        report.problems.append(
            f"/healthz never reported {report.dependency} down during the outage: "
            f"{[(p.status, p.body) for p in during][:10]}"
        )
    if any(p.status == 200 for p in during[len(during) // 2 :]):
        report.problems.append("/healthz answered 200 while the outage lasted")
    after = [p for p in report.probes if p.at >= report.back_at]
    healthy = [p.at - report.back_at for p in after if p.status == 200]
    report.health_back_after = min(healthy) if healthy else None
    if not after or after[-1].status != 200:
        report.problems.append(
            f"/healthz not 200 after the restart: {[(p.status, p.body) for p in after][-5:]}"
        )


def _check_alerts(world, keys: list[str], report: RoundReport) -> list[int]:
    with world.postgres.connect() as conn:
        rows = conn.execute(
            """
            SELECT a.dedup_key, array_agg(DISTINCT a.incident_id)
            FROM incidents_alert a JOIN accounts_organization o ON o.id = a.organization_id
            WHERE o.slug = %s AND a.dedup_key = ANY(%s)
            GROUP BY a.dedup_key
            """,
            (ORG_SLUG, keys),
        ).fetchall()
        incidents = conn.execute(
            """
            SELECT i.dedup_key, count(*) FROM incidents_incident i
            JOIN accounts_organization o ON o.id = i.organization_id
            WHERE o.slug = %s AND i.dedup_key = ANY(%s) GROUP BY i.dedup_key
            """,
            (ORG_SLUG, keys),
        ).fetchall()
    alerts = dict(rows)
    missing = [key for key in keys if key not in alerts or None in alerts[key]]
    if missing:
        report.problems.append(
            f"{len(missing)} accepted dedup keys have no alert or incident: {missing[:10]}"
        )
    doubled = {key: count for key, count in incidents if count != 1}
    if doubled:
        report.problems.append(f"dedup keys with more than one incident: {dict(list(doubled.items())[:10])}")
    incident_ids = sorted({incident for ids in alerts.values() for incident in ids if incident is not None})
    report.incidents = len(incident_ids)
    return incident_ids


def _outbox(world, incident_ids: list[int]):
    with world.postgres.connect() as conn:
        stepped = conn.execute(
            "SELECT count(*) FROM incidents_incident WHERE id = ANY(%s) AND escalation_step = 0 "
            "AND escalation_cycle = 0",
            (incident_ids,),
        ).fetchone()[0]
        rows = conn.execute(
            "SELECT incident_id, idempotency_key, status, medium, step, attempts "
            "FROM notifications_notification WHERE incident_id = ANY(%s)",
            (incident_ids,),
        ).fetchall()
        all_keys = {key for (key,) in conn.execute("SELECT idempotency_key FROM notifications_notification")}
    return stepped, rows, all_keys


def _settle_and_check_pages(world, incident_ids: list[int], report: RoundReport) -> int:
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        not_stepped, rows, all_keys = _outbox(world, incident_ids)
        open_rows = [row for row in rows if row[2] != "sent"]
        delivered = world.peers.delivered()
        undelivered = [row for row in rows if delivered[row[1]] < 1]
        if (not not_stepped and not open_rows and not undelivered) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    if not_stepped:
        report.problems.append(f"{not_stepped} incidents never ran their first escalation step")
    if open_rows:
        report.problems.append(f"{len(open_rows)} pages not sent: {open_rows[:5]}")
    if undelivered:
        report.problems.append(f"{len(undelivered)} pages never arrived: {undelivered[:5]}")
    paged = {row[0] for row in rows}
    unpaged = [incident for incident in incident_ids if incident not in paged]
    if unpaged:
        report.problems.append(f"{len(unpaged)} incidents have no page: {unpaged[:10]}")
    twice = {key: count for key, count in delivered.items() if count > 1 and ":" not in key}
    if twice:
        report.problems.append(
            f"{len(twice)} pages delivered more than once: {dict(list(twice.items())[:5])}"
        )
    # Workflow notices (approval requests, overdue tasks, automation) reach the same SMTP server with
    # delivery ids of the workflows outbox ("approval:13:requested:3"); they are not pages of this
    # outbox, whose ids are digests without a colon.
    unknown = [key for key in delivered if key not in all_keys and ":" not in key]
    if unknown:
        report.problems.append(f"deliveries the outbox does not know: {unknown[:5]}")
    return len(rows)


def _check_processes(world, report: RoundReport) -> None:
    if world.platform.process.poll() is not None:
        report.problems.append(f"the runner exited with {world.platform.process.returncode}")
        return
    # A child that died in the outage is restarted after a pause that doubles (at most 30 s).
    deadline = time.monotonic() + 45
    while (dead := world.platform.dead_children()) and time.monotonic() < deadline:
        time.sleep(0.5)
    if dead:
        report.problems.append(f"children not running: {dead}")
