"""An alert storm as users run it: the platform started as ``make run`` starts it, paging while the
alerts keep coming, beside pgbench on the same database.

    make bench PYTEST_ARGS=tests/bench/test_storm.py

The platform (``python -m opsplatform.devtools.runner``: web processes, the paging and the general
Celery worker, beat) runs against private PostgreSQL and Redis servers seeded with the demo data
(``tests/faults/world.py``): every demo service has the demo escalation policy, whose first step pages
the on-call people by e-mail (a loopback SMTP server) and the demo webhook channel (a loopback HTTP
receiver). Two changes to the demo data, both stated in the output: the throttle is raised (it would
answer 429 at 100 requests/s; this measures ingestion, not the throttle) and the Alertmanager
integration does not group (each alert its own incident, the harshest case for dedup and paging).

In one run, each load with 90% duplicates over 10,000 dedup keys:

* pgbench: single-row INSERTs into a scratch table of the same database (``-c 2``, 10 s), before and
  after the storm (after it with the workers and beat paused: the database's own speed, not its
  speed beside the storm's leftover work); the ratios below divide by their mean;
* PagerDuty Events v2 on ``/v2/enqueue``, paced at ``BENCH_PD_RATE``/s (default 300) for
  ``BENCH_SECONDS`` (20) over 32 connections, then ``BENCH_PD_MAX_EVENTS`` (6,000) as fast as 32
  connections allow; each with p50/p99 for first triggers and repeats apart, and the paced one's p99
  second by second; for the full-speed one, what bounds its p99 (``_bound_line``: the rate its 32
  connections in a closed loop need for the target, and the rate the CPU an event costs allows);
* Alertmanager notifications of 50 alerts, ``BENCH_AM_BATCHES`` (300) over ``BENCH_AM_CONCURRENCY`` (8)
  connections, with the CPU an alert costs the machine and the rate that allows;
* for pgbench and each full-speed load, how often the database flushed its WAL and how long a flush
  took (``_flush_line``): every commit a request waits for waits for one, and under the storm a flush
  takes many times what it takes beside pgbench alone;
* for every new incident: the time from its first trigger being sent to its first page arriving at
  a receiver, the SMTP or the webhook one (p50/p99; and to its first webhook page apart), and at the
  receivers: pages never delivered, pages delivered twice;
* in the database: dedup keys with no open incident (lost) or more than one (doubled), and PagerDuty
  incidents whose trigger count differs from what was sent.

The verdict line puts beside each rate target the ratio the CPU of that load allows (every
process's, the paging of its new incidents included, over the machine's cores): a target above it
is out of reach on this machine however the work is scheduled, only less CPU a unit or more cores
reach it. pgbench's own rate moves with the disk's flush time as much as with the CPU. Each load's
database CPU is also split by the client it worked for (``_pg_split``), and the machine's shares
show the loopback receivers' CPU, which stands in for other machines and is never counted.

When the pages have settled, how far the general worker kept up: the SEV1/SEV2 new incidents'
playbook runs started and how long after their incident, the automation actions finished and how
long after their event.

While the loads run, ``pg_stat_activity`` is sampled every 100 ms: what the busy backends wait on,
by process (each child of the runner names its sessions) and by statement, and for lock waits what
holds the lock (the ``BENCH_BLOCKERS`` (8) most frequent pairs).

``BENCH_PAUSE_BACKGROUND=1`` measures what ingestion alone reaches with the whole machine: the Celery
workers and beat are stopped (SIGSTOP, at a moment none of them has a transaction open) for the
three loads and resumed after, so the pages are sent only then. The load figures are then a ceiling
for the storm's, and the first page's times do not apply.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime

import psutil
import pytest

from tests.bench.http_load import KeyStream, am_batch, paced, pd_event, saturate
from tests.bench.timing import percentile, processes_cpu
from tests.faults.load import AM_KEY, PD_KEY
from tests.faults.world import running_world
from workflows.builtins import PLAYBOOK_SEVERITIES

# On a loaded machine the pages of a storm can take many minutes to drain.
pytestmark = pytest.mark.timeout(3600)

SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))
PD_RATE = float(os.environ.get("BENCH_PD_RATE", "300"))
CONNECTIONS = 32
PD_MAX_EVENTS = int(os.environ.get("BENCH_PD_MAX_EVENTS", "6000"))
AM_BATCHES = int(os.environ.get("BENCH_AM_BATCHES", "300"))
AM_CONCURRENCY = int(os.environ.get("BENCH_AM_CONCURRENCY", "8"))
# How many (waiting statement, lock holder) pairs the report lists, most frequent first.
BLOCKERS = int(os.environ.get("BENCH_BLOCKERS", "8"))
# The ceiling of ingestion alone: every child but the web stopped during the loads (see the docstring).
PAUSE_BACKGROUND = os.environ.get("BENCH_PAUSE_BACKGROUND", "") == "1"
BACKGROUND = ("paging", "delivery", "worker", "beat")
BATCH = 50
# The loopback webhook and SMTP servers the pages go to: on this machine's cores, but not the platform.
RECEIVERS = "receivers"
# After the load, wait for the pages while they keep arriving; give up after this long without one.
SETTLE_IDLE_SECONDS = 60
# Targets of the storm issue, as ratios to pgbench's tps in the same run.
PD_TARGET_RATIO, PD_TARGET_P99_MS, AM_TARGET_RATIO, PAGE_TARGET_P99_S = 0.10, 100, 0.75, 5.0
PD_PATH = "/v2/enqueue"
AM_PATH = f"/api/v1/integrations/{AM_KEY}/alertmanager/"


def _prepare(postgres) -> None:
    with postgres.connect() as conn:
        # Times each WAL flush (pg_stat_wal.wal_sync_time) for _flush_line; two clock reads a flush.
        conn.execute("ALTER SYSTEM SET track_wal_io_timing = on")
        conn.execute("SELECT pg_reload_conf()")
        conn.execute("UPDATE incidents_integration SET throttle_rate = '100000000/min'")
        conn.execute("UPDATE incidents_integration SET grouping = false WHERE kind = 'alertmanager'")


def pgbench_tps(postgres) -> float:
    with postgres.connect() as conn:
        conn.execute("DROP TABLE IF EXISTS bench_pgbench_scratch")
        conn.execute("CREATE TABLE bench_pgbench_scratch (id bigserial PRIMARY KEY, k text, at timestamptz)")
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write("INSERT INTO bench_pgbench_scratch (k, at) VALUES (md5(random()::text), now());\n")
    env = {
        **os.environ,
        "PGHOST": "127.0.0.1",
        "PGPORT": str(postgres.port),
        "PGUSER": "postgres",
        "PGDATABASE": postgres.database,
    }
    try:
        result = subprocess.run(
            ["pgbench", "-n", "-T", "10", "-c", "2", "-f", script.name],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    finally:
        os.unlink(script.name)
        with postgres.connect() as conn:
            conn.execute("DROP TABLE bench_pgbench_scratch")
    return float(re.search(r"tps = ([0-9.]+)", result.stdout).group(1))


class Bodies:
    """Request bodies of one load, with the dedup keys each one sends for the first time."""

    def __init__(self):
        self.bodies: list[bytes] = []
        self.new_keys: list[list[str]] = []

    def add(self, body: bytes, new_keys: list[str]) -> None:
        self.bodies.append(body)
        self.new_keys.append(new_keys)

    def first_sent(self, sent_at: list[float], into: dict[str, float]) -> None:
        for keys, at in zip(self.new_keys, sent_at, strict=True):
            for key in keys:
                into.setdefault(key, at)


def _next(stream: KeyStream) -> tuple[str, bool]:
    before = stream.used
    key = stream.next()
    return key, stream.used > before


def pd_bodies(stream: KeyStream, count: int) -> Bodies:
    load = Bodies()
    for _ in range(count):
        key, new = _next(stream)
        load.add(pd_event(PD_KEY, key), [key] if new else [])
    return load


def am_bodies(stream: KeyStream, count: int) -> Bodies:
    load = Bodies()
    for _ in range(count):
        pairs = [_next(stream) for _ in range(BATCH)]
        # Alertmanager re-sends an episode with its startsAt: the same one for every batch here.
        load.add(am_batch([key for key, _ in pairs], "2026-01-01T00:00:00Z"), [k for k, new in pairs if new])
    return load


class WaitSampler(threading.Thread):
    """What the platform's busy backends wait on, every 100 ms (``pg_stat_activity``)."""

    def __init__(self, postgres):
        super().__init__(name="wait-sampler", daemon=True)
        self.postgres, self.stop_event = postgres, threading.Event()
        self.samples: Counter = Counter()
        # The same waits by the statement the backend runs or, idle in a transaction, ran last.
        self.statements: Counter = Counter()
        # The same waits by the process whose session it is (its application_name, set by the runner).
        self.by_process: Counter = Counter()
        # Waiting on a lock: (the waiting statement, what the first backend in its way runs or ran last).
        self.blockers: Counter = Counter()
        # The load running now (set by the test), and the same waits per load.
        self.phase = "-"
        self.phase_rounds: Counter = Counter()
        self.by_phase: Counter = Counter()
        self.blockers_by_phase: Counter = Counter()
        self.rounds = 0
        # Each sample of the paced load, timed: what the slowest second waited on.
        self.timed: list[tuple[float, Counter]] = []

    def run(self) -> None:
        with self.postgres.connect() as conn:
            while not self.stop_event.is_set():
                rows = conn.execute(
                    "SELECT a.state, coalesce(a.wait_event_type, 'CPU'), coalesce(a.wait_event, '-'),"
                    " a.query, a.application_name,"
                    " (SELECT b.application_name || ' ' || b.state || ': ' || b.query FROM pg_stat_activity b"
                    # LIMIT 1: once the subquery found two rows for one pid, and the sampler died.
                    "  WHERE b.pid = (pg_blocking_pids(a.pid))[1] LIMIT 1) "
                    "FROM pg_stat_activity a WHERE a.backend_type = 'client backend' "
                    "AND a.pid <> pg_backend_pid() AND a.state <> 'idle'"
                ).fetchall()
                self.rounds += 1
                phase = self.phase
                self.phase_rounds[phase] += 1
                if phase == "PD paced":
                    counts = Counter(
                        (process, state, f"{kind}:{event}", _statement(query, 60))
                        for state, kind, event, query, process, _ in rows
                    )
                    # The server's own workers too (autovacuum, checkpointer): not the platform's.
                    for kind, query in conn.execute(
                        "SELECT backend_type, query FROM pg_stat_activity WHERE backend_type IN"
                        " ('autovacuum worker', 'checkpointer') AND wait_event IS DISTINCT FROM"
                        " 'CheckpointerMain'"
                    ).fetchall():
                        counts[kind, "server", "-", _statement(query, 60)] += 1
                    self.timed.append((time.time(), counts))
                for state, kind, event, query, process, blocker in rows:
                    self.samples[state, kind, event] += 1
                    self.by_process[process, state, kind, event] += 1
                    self.by_phase[phase, state, kind, event] += 1
                    self.statements[state, kind, event, _statement(query)] += 1
                    if blocker:
                        self.blockers[_statement(query)[:40], _statement(blocker, 115)] += 1
                        self.blockers_by_phase[phase, _statement(query)[:40], _statement(blocker)[:80]] += 1
                self.stop_event.wait(0.1)

    def report(self) -> str:
        if not self.rounds:
            return "no samples"
        return "; ".join(
            f"{state} {kind}:{event} {count / self.rounds:.2f}" for (state, kind, event), count in
            self.samples.most_common(8)
        )  # fmt: skip

    def report_processes(self) -> str:
        return "\n".join(
            f"  {count / self.rounds:.2f}  {process} {state} {kind}:{event}"
            for (process, state, kind, event), count in self.by_process.most_common(10)
        )

    def report_statements(self) -> str:
        return "\n".join(
            f"  {count / self.rounds:.2f}  {state} {kind}:{event}  {statement}"
            for (state, kind, event, statement), count in self.statements.most_common(10)
        )

    def report_phases(self) -> str:
        """Per load: its four largest waits and its largest lock wait, as mean busy backends."""
        lines = []
        for phase, rounds in self.phase_rounds.items():
            if phase == "-":
                continue  # the moment before the first load
            waits = sorted(
                ((n, s, k, e) for (p, s, k, e), n in self.by_phase.items() if p == phase), reverse=True
            )
            top = max(
                ((n, w, b) for (p, w, b), n in self.blockers_by_phase.items() if p == phase), default=None
            )
            line = f"  {phase}: " + "; ".join(f"{s} {k}:{e} {n / rounds:.2f}" for n, s, k, e in waits[:4])
            if top:
                line += f"\n    largest lock wait {top[0] / rounds:.2f}: {top[1]}  <-  {top[2]}"
            lines.append(line)
        return "\n".join(lines)

    def report_window(self, start: float, end: float) -> str:
        """The busiest waits (mean busy backends) of the samples taken from ``start`` to ``end``."""
        window = [counts for at, counts in self.timed if start <= at < end]
        total = sum(window, Counter())
        return "\n".join(
            f"    {count / len(window):.2f}  {process} {state} {wait}  {statement}"
            for (process, state, wait, statement), count in total.most_common(6)
        ) if window else "    no samples"  # fmt: skip

    def report_blockers(self) -> str:
        return "\n".join(
            f"  {count / self.rounds:.2f}  {waiting}  <-  {blocker}"
            for (waiting, blocker), count in self.blockers.most_common(BLOCKERS)
        )


TICK_DONE = re.compile(r"notifications\.escalation_tick\[[^\]]+\] succeeded in ([0-9.]+)s: (\d+)")


def _tick_line(log: str) -> str:
    """How many escalation ticks ran, how many steps they wrote, and how long one took."""
    ticks = [(float(seconds), int(steps)) for seconds, steps in TICK_DONE.findall(log)]
    if not ticks:
        return "none logged"
    durations = [seconds for seconds, _ in ticks]
    return (
        f"{len(ticks)} ticks, {sum(steps for _, steps in ticks)} steps; a tick took p50 "
        f"{percentile(durations, 50):.2f} s, p90 {percentile(durations, 90):.2f} s"
    )


def _statement(query: str, length: int = 90) -> str:
    """A statement's first words, enough to tell which writer it is."""
    return re.sub(r"\s+", " ", query or "").strip()[:length]


def _pages(world, keys: list[str]):
    """Per dedup key: its incidents; per incident its outbox rows (delivery id, medium, status)."""
    with world.postgres.connect() as conn:
        incidents = conn.execute(
            "SELECT dedup_key, id, status, alert_occurrences FROM incidents_incident "
            "WHERE dedup_key = ANY(%s)",
            (keys,),
        ).fetchall()
        rows = conn.execute(
            "SELECT n.incident_id, n.idempotency_key, n.medium, n.status FROM notifications_notification n "
            "JOIN incidents_incident i ON i.id = n.incident_id WHERE i.dedup_key = ANY(%s)",
            (keys,),
        ).fetchall()
    return incidents, rows


def _cpu_seconds(world) -> dict[str, float]:
    """CPU time (user + system) used so far by each of the platform's children, their processes
    included, and by the database server's processes."""

    def tree(pid: int) -> float:
        try:
            root = psutil.Process(pid)
            return processes_cpu([root, *root.children(recursive=True)])
        except psutil.NoSuchProcess:
            return 0.0

    used = {name: tree(pid) for name, pid in world.platform.pids().items()}
    postmaster = (world.postgres.data / "postmaster.pid").read_text().split()[0]
    used["postgres"] = tree(int(postmaster))
    # This process: the load generator's HTTP clients (and the wait sampler), on the same two cores.
    times = psutil.Process().cpu_times()
    used["bench client"] = times.user + times.system
    # The webhook and SMTP receivers stand in for other machines: their CPU is shown, never counted
    # as the platform's (see RECEIVERS).
    used[RECEIVERS] = tree(world.peers.pid)
    return used


def _pg_cpu_by_client(world) -> dict[str, float]:
    """The database server's CPU time so far, by whose work it did: each backend's under its
    client's ``application_name`` (the runner names every child's sessions), the server's own
    processes under their kind; what no process now running accounts for (backends that ended,
    autovacuum workers come and gone) is the rest of the server's tree."""
    with world.postgres.connect() as conn:
        rows = conn.execute(
            "SELECT pid, coalesce(nullif(application_name, ''), backend_type) FROM pg_stat_activity"
            " WHERE pid <> pg_backend_pid()"
        ).fetchall()
    used: Counter = Counter()
    for pid, client in rows:
        used[client.removeprefix("opsplatform ")] += processes_cpu([pid])
    return dict(used)


def _pg_split(before: dict, after: dict, pg_total: float, units: int, unit: str) -> str:
    """The database's CPU a unit of a load by client: which of the platform's processes made it work."""
    per_unit = {name: (after[name] - before.get(name, 0.0)) * 1000 / units for name in after}
    per_unit["other"] = pg_total * 1000 / units - sum(per_unit.values())
    parts = ", ".join(
        f"{name} {ms:.3f}" for name, ms in sorted(per_unit.items(), key=lambda kv: -kv[1]) if ms >= 0.0005
    )
    return f"postgres CPU {unit} (ms) by client: {parts}"


def _wal_bytes(world) -> int:
    """Where the database's write-ahead log stands: the bytes it wrote between two readings are what
    the rows and index entries written meanwhile cost it, ingestion's and paging's (unlike CPU time,
    not stretched by a slow or shared machine)."""
    with world.postgres.connect() as conn:
        return int(conn.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn").fetchone()[0])


def _wal_flushes(world) -> tuple[int, float]:
    """The database's WAL flushes so far and the milliseconds they took (``track_wal_io_timing``)."""
    with world.postgres.connect() as conn:
        syncs, ms = conn.execute("SELECT wal_sync, wal_sync_time FROM pg_stat_wal").fetchone()
    return int(syncs), float(ms)


def _flush_line(before: tuple[int, float], after: tuple[int, float], seconds: float) -> str:
    """How often the WAL was flushed and how long a flush took: every commit a request waits for
    (its own, or its group's) waits for one, and for the one in progress before it."""
    syncs, ms = after[0] - before[0], after[1] - before[1]
    return f"WAL flushes {syncs / seconds:.0f}/s, {ms / max(syncs, 1):.2f} ms each"


def _cpu_line(before: dict[str, float], after: dict[str, float], seconds: float, during="the loads") -> str:
    """Each process group's share of the machine while the loads ran."""
    cores = os.cpu_count() or 1
    shares = {name: (after.get(name, 0.0) - before.get(name, 0.0)) / seconds / cores for name in after}
    busy = sum(shares.values())
    parts = ", ".join(f"{name} {share:.0%}" for name, share in sorted(shares.items(), key=lambda kv: -kv[1]))
    return f"CPU share of the machine during {during} ({seconds:.0f} s): {parts}; together {busy:.0%}"


def _cpu_per_unit(before: dict, after: dict, units: int) -> tuple[dict[str, float], float]:
    """The CPU (ms) each process group spent per unit of a load (an event, an alert), and the most
    units a second the machine's cores give at that cost, every process's included but the
    receivers' (whose work is another machine's where the platform runs)."""
    per_unit = {
        name: (after[name] - before.get(name, 0.0)) * 1000 / units for name in after if name != RECEIVERS
    }
    return per_unit, (os.cpu_count() or 1) * 1000 / sum(per_unit.values())


def _cpu_split(per_unit: dict[str, float], unit: str, wal_bytes: float) -> str:
    web, database = per_unit.get("web", 0.0), per_unit.get("postgres", 0.0)
    rest = sum(per_unit.values()) - web - database
    cores = os.cpu_count() or 1
    return (
        f"CPU {unit}: web {web:.3f} ms, postgres {database:.3f} ms, the rest {rest:.3f} ms;"
        f" {cores} cores give at most {cores * 1000 / sum(per_unit.values()):.0f}/s with the rest,"
        f" {cores * 1000 / (web + database):.0f}/s to ingestion alone; WAL {unit}: {wal_bytes:,.0f} bytes"
    )


def _bound_line(latencies: list[float], elapsed: float, before: dict, after: dict, wal: int) -> str:
    """What bounds the full-speed load's p99. Its connections always have a request outstanding (a
    closed loop), so the mean latency is connections / rate (Little's law): a p99 under the target
    needs a rate of at least connections x (p99 / mean) / target. And the rate is bounded by the CPU
    an event costs the machine, every process's (the pages of the new incidents included), over its
    cores; ingestion's own share (web and database) bounds it when nothing else runs."""
    events = len(latencies)
    rate, mean = events / elapsed, sum(latencies) / events
    spread = percentile(latencies, 99) / mean
    needed = CONNECTIONS * spread / (PD_TARGET_P99_MS / 1000)
    per_event, _ = _cpu_per_unit(before, after, events)
    floor = CONNECTIONS / rate * 1000
    return (
        f"  closed loop: mean {mean:.0f} ms = {CONNECTIONS} conn. / {rate:.0f}/s ({floor:.0f} ms);"
        f" p99 < {PD_TARGET_P99_MS} ms at this run's p99/mean ({spread:.1f}) needs >= {needed:.0f}/s."
        f" {_cpu_split(per_event, 'an event', wal / events)}"
    )


def _stages(world, keys: list[str]) -> dict[str, tuple[float, float, float]]:
    """Per dedup key, the server's own times of its first page's way (epoch seconds): the incident
    committed its row, escalation wrote its first page's row, delivery marked the first page sent."""
    with world.postgres.connect() as conn:
        rows = conn.execute(
            "SELECT i.dedup_key, extract(epoch FROM i.created_at), extract(epoch FROM min(n.created_at)),"
            " extract(epoch FROM min(n.sent_at)) FROM incidents_incident i"
            " JOIN notifications_notification n ON n.incident_id = i.id"
            " WHERE i.dedup_key = ANY(%s) GROUP BY i.id",
            (keys,),
        ).fetchall()
    return {key: (float(a), float(b), float(c)) for key, a, b, c in rows if c is not None}


def _first_pages(
    outbox_by_incident: dict, arrivals: dict, first_sent: dict, key_of: dict, medium: str = ""
) -> tuple[list[float], int]:
    """Per incident, seconds from its first trigger leaving the client to the first of its pages (of
    ``medium``, else of any) arriving at a receiver; and how many incidents had no such page."""
    seconds, without = [], 0
    for incident_id, outbox in outbox_by_incident.items():
        times = [min(arrivals[d]) for d, kind, _ in outbox if d in arrivals and medium in ("", kind)]
        if times:
            seconds.append(min(times) - first_sent[key_of[incident_id]])
        else:
            without += 1
    return seconds, without


def _stage_line(first_sent: dict[str, float], stages: dict) -> str:
    """Where the first page's time went: trigger sent → incident row, → page row, → sent."""
    parts = {"ingest": [], "escalation": [], "delivery": []}
    for key, (created, queued, sent) in stages.items():
        parts["ingest"].append(created - first_sent[key])
        parts["escalation"].append(queued - created)
        parts["delivery"].append(sent - queued)
    return "; ".join(
        f"{name} p50 {percentile(values or [0], 50):.2f} s / p99 {percentile(values or [0], 99):.2f} s"
        for name, values in parts.items()
    )


def _reactions_line(world, keys: list[str]) -> str:
    """How far the general worker kept up, read when the pages have settled: each SEV1/SEV2 new
    incident's playbook run after the incident, and each automation action after its event."""
    with world.postgres.connect() as conn:
        wanted = conn.execute(
            "SELECT count(*) FROM incidents_incident WHERE dedup_key = ANY(%s) AND severity = ANY(%s)",
            (keys, list(PLAYBOOK_SEVERITIES)),
        ).fetchone()[0]
        runs = [
            float(seconds)
            for (seconds,) in conn.execute(
                "SELECT extract(epoch FROM r.created_at - i.created_at) FROM workflows_workflowrun r"
                " JOIN incidents_incident i ON r.incident_id = i.id"
                " WHERE i.dedup_key = ANY(%s) AND r.trigger_key LIKE 'playbook:%%'",
                (keys,),
            )
        ]
        actions = conn.execute(
            "SELECT extract(epoch FROM e.finished_at - e.event_at) FROM workflows_automationexecution e"
            " JOIN incidents_incident i ON e.incident_id = i.id WHERE i.dedup_key = ANY(%s)",
            (keys,),
        ).fetchall()
    done = [float(seconds) for (seconds,) in actions if seconds is not None]

    def spread(values: list[float]) -> str:
        return f"p50 {percentile(values or [0], 50):.1f} s / p99 {percentile(values or [0], 99):.1f} s"

    return (
        f"playbook runs started {len(runs)} of {wanted}, after their incident {spread(runs)}; "
        f"automation actions finished {len(done)} of {len(actions)}, after their event {spread(done)}"
    )


def _settle(world, keys: list[str]) -> float:
    """Seconds until every incident of ``keys`` has its outbox rows sent and received, or until no
    page arrived for ``SETTLE_IDLE_SECONDS`` (what is missing then counts as lost)."""
    started = last_progress = time.monotonic()
    arrived = -1
    while time.monotonic() - last_progress < SETTLE_IDLE_SECONDS:
        incidents, rows = _pages(world, keys)
        delivered = world.peers.delivered()
        if sum(delivered.values()) != arrived:
            arrived, last_progress = sum(delivered.values()), time.monotonic()
        paged = {row[0] for row in rows}
        if (
            all(incident_id in paged for _, incident_id, _, _ in incidents)
            and all(delivered[row[1]] >= 1 for row in rows)
            and len({key for key, *_ in incidents}) >= len(keys)
        ):
            break
        time.sleep(1.0)
    return time.monotonic() - started


def _p99_by_second(latencies: list[float], rate: float) -> list[float]:
    """The paced load's p99 second by second (in schedule order)."""
    per = max(1, int(rate))
    return [percentile(latencies[i : i + per], 99) for i in range(0, len(latencies), per)]


def _slowest_second(latencies: list[float], rate: float) -> int:
    by_second = _p99_by_second(latencies, rate)
    return by_second.index(max(by_second))


def _seconds_line(latencies: list[float], rate: float) -> str:
    """A stall shows as one slow second, a server falling behind as seconds getting slower."""
    return " ".join(f"{p99:.0f}" for p99 in _p99_by_second(latencies, rate))


class Paused:
    """The background children stopped while the block runs (``BENCH_PAUSE_BACKGROUND``, and the
    pgbench after the storm)."""

    def __init__(self, world):
        self.world, self.processes = world, []

    def _tree(self) -> list[psutil.Process]:
        found = []
        for name, pid in self.world.platform.pids().items():
            if name in BACKGROUND:
                root = psutil.Process(pid)
                found += [root, *root.children(recursive=True)]
        return found

    def _sessions(self, *, busy: bool) -> int:
        """The background children's database sessions (with ``busy``: those not idle)."""
        names = [f"opsplatform {name}" for name in BACKGROUND]
        query = "SELECT count(*) FROM pg_stat_activity WHERE application_name = ANY(%s)"
        with self.world.postgres.connect() as conn:
            return conn.execute(query + (" AND state <> 'idle'" if busy else ""), [names]).fetchone()[0]

    def __enter__(self):
        # Without the children's own session names the check below would see no transaction at all.
        assert self._sessions(busy=False), "no database session carries a background child's name"
        # A process stopped inside a transaction would hold its locks through the loads.
        for _ in range(100):
            self.processes = self._tree()
            for process in self.processes:
                process.suspend()
            if not self._sessions(busy=True):
                return self
            self._resume()
            time.sleep(0.2)
        raise AssertionError("the background processes never all left their transactions")

    def _resume(self):
        for process in self.processes:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.resume()

    def __exit__(self, *exc):
        self._resume()


def _line(name: str, latencies: list[float], elapsed: float, events: int, statuses: Counter) -> str:
    return (
        f"{name:<44}{len(latencies):>7}{len(latencies) / elapsed:>9.0f}{events / elapsed:>10.0f}"
        f"{percentile(latencies, 50):>9.1f}{percentile(latencies, 99):>9.1f}  {dict(statuses)}"
    )


def _kinds_line(latencies: list[float], load: Bodies) -> str:
    """p50/p99 of the events that send a key for the first time (the full path, and a page later)
    and of the repeats (one shared statement), apart: a p99 over both is mostly the first kind's."""
    first = [lat for lat, keys in zip(latencies, load.new_keys, strict=True) if keys]
    repeats = [lat for lat, keys in zip(latencies, load.new_keys, strict=True) if not keys]
    parts = [
        f"{name} ({len(part)}) p50 {percentile(part, 50):.0f} / p99 {percentile(part, 99):.0f}"
        for name, part in (("first triggers", first), ("repeats", repeats))
        if part
    ]
    return "  ms by kind: " + "; ".join(parts)


def test_storm_with_paging():
    with running_world(
        prefix="opsplatform-storm-", database="ops_storm_bench", prepare=_prepare, peers_own_process=True
    ) as world:
        port = world.platform.port
        flushes_before = _wal_flushes(world)
        tps_before = pgbench_tps(world.postgres)
        pgbench_flushes = _flush_line(flushes_before, _wal_flushes(world), 10)
        run = world.run_id
        # Warm every web process and its pool at the storm's concurrency, on keys the counts ignore.
        warm = [pd_event(PD_KEY, f"warm-{run}-{i}") for i in range(400)]
        _, warm_status, _ = asyncio.run(saturate(port, PD_PATH, warm, CONNECTIONS))
        assert set(warm_status) == {202}, f"warm-up answered {dict(warm_status)}"
        # Its 400 new incidents page: the storm starts once those pages are out, not in their midst
        # (a burst of the warm-up's, not of the storm's, that made the paced load's first seconds slow).
        warm_settled = _settle(world, [f"warm-{run}-{i}" for i in range(400)])
        with world.postgres.connect() as conn:
            conn.execute("ANALYZE")

        pd_keys = KeyStream(f"storm-{run}-pd", seed=1)
        am_keys = KeyStream(f"storm-{run}-am", seed=2)
        paced_load = pd_bodies(pd_keys, int(PD_RATE * SECONDS))
        max_load = pd_bodies(pd_keys, PD_MAX_EVENTS)
        am_load = am_bodies(am_keys, AM_BATCHES)
        first_sent: dict[str, float] = {}
        sampler = WaitSampler(world.postgres)
        sampler.start()
        # Resumed however the loads end: a stopped child would not stop when the world is torn down.
        with Paused(world) if PAUSE_BACKGROUND else contextlib.nullcontext():
            cpu_before, load_started = _cpu_seconds(world), time.monotonic()

            sampler.phase = "PD paced"
            sent = [0.0] * len(paced_load.bodies)
            paced_load_start = time.time()  # to find a slow second's neighbours in the platform's log
            paced_lat, paced_status, paced_elapsed = asyncio.run(
                paced(port, PD_PATH, paced_load.bodies, PD_RATE, CONNECTIONS, sent_at=sent)
            )
            paced_load.first_sent(sent, first_sent)
            sampler.phase = "PD max"
            sent = [0.0] * len(max_load.bodies)
            cpu_max_before, wal_max_before = _cpu_seconds(world), _wal_bytes(world)
            flushes_max_before = _wal_flushes(world)
            pg_max_before = _pg_cpu_by_client(world)
            max_lat, max_status, max_elapsed = asyncio.run(
                saturate(port, PD_PATH, max_load.bodies, CONNECTIONS, sent_at=sent)
            )
            pg_max_after = _pg_cpu_by_client(world)
            cpu_max_after, wal_max = _cpu_seconds(world), _wal_bytes(world) - wal_max_before
            flushes_max = _flush_line(flushes_max_before, _wal_flushes(world), max_elapsed)
            max_load.first_sent(sent, first_sent)
            sampler.phase = "AM batches"
            sent = [0.0] * len(am_load.bodies)
            cpu_am_before, wal_am_before = _cpu_seconds(world), _wal_bytes(world)
            flushes_am_before = _wal_flushes(world)
            pg_am_before = _pg_cpu_by_client(world)
            am_lat, am_status, am_elapsed = asyncio.run(
                saturate(port, AM_PATH, am_load.bodies, AM_CONCURRENCY, sent_at=sent)
            )
            pg_am_after = _pg_cpu_by_client(world)
            cpu_am_after, wal_am = _cpu_seconds(world), _wal_bytes(world) - wal_am_before
            flushes_am = _flush_line(flushes_am_before, _wal_flushes(world), am_elapsed)
        web_ms = (cpu_am_after["web"] - cpu_am_before["web"]) / AM_BATCHES * 1000
        am_cpu_line = _cpu_line(cpu_am_before, cpu_am_after, am_elapsed, during="the AM batches")
        am_cpu_line += f"; web CPU per batch of {BATCH}: {web_ms:.1f} ms"
        # What the cores allow at each load's CPU cost: a ratio target above it is out of reach
        # on this machine whatever the load does, however the work is scheduled.
        _, pd_ceiling = _cpu_per_unit(cpu_max_before, cpu_max_after, len(max_lat))
        am_per_alert, am_ceiling = _cpu_per_unit(cpu_am_before, cpu_am_after, AM_BATCHES * BATCH)
        am_load.first_sent(sent, first_sent)
        sampler.stop_event.set()
        sampler.join()
        cpu_line = _cpu_line(cpu_before, cpu_am_after, time.monotonic() - load_started)
        # The load's figures now: draining the pages can take long, and a run cut short keeps these.
        print(f"\nAlert storm with paging, platform as `make run` starts it; {os.cpu_count()} CPUs")
        if PAUSE_BACKGROUND:
            print("BENCH_PAUSE_BACKGROUND: workers and beat stopped during the loads (ingestion alone)")
        print(f"pgbench single-row INSERT, 2 clients, 10 s, before the storm: {tps_before:.0f} tps")
        print(f"  its {pgbench_flushes}, on a machine otherwise idle")
        print(f"warm-up: 400 new incidents, their pages out {warm_settled:.0f} s later; then the loads")
        print(f"{'load':<44}{'reqs':>7}{'req/s':>9}{'events/s':>10}{'p50 ms':>9}{'p99 ms':>9}  statuses")
        print(_line(f"PD paced at {PD_RATE:.0f}/s, {CONNECTIONS} conn.", paced_lat, paced_elapsed,
                    len(paced_lat), paced_status))  # fmt: skip
        started = datetime.fromtimestamp(paced_load_start, tz=UTC).strftime("%H:%M:%S.%f")[:-3]
        print(f"  p99 ms by second from {started} UTC: {_seconds_line(paced_lat, PD_RATE)}")
        slowest = _slowest_second(paced_lat, PD_RATE)
        print(f"  what the platform's sessions did in second {slowest + 1}, the slowest:")
        print(sampler.report_window(paced_load_start + slowest, paced_load_start + slowest + 1))
        print(_kinds_line(paced_lat, paced_load))
        print(_line(f"PD max, {CONNECTIONS} conn.", max_lat, max_elapsed, len(max_lat), max_status))
        print(_kinds_line(max_lat, max_load))
        print(_bound_line(max_lat, max_elapsed, cpu_max_before, cpu_max_after, wal_max))
        pg_max = cpu_max_after["postgres"] - cpu_max_before["postgres"]
        print(f"  {_pg_split(pg_max_before, pg_max_after, pg_max, len(max_lat), 'an event')}")
        print(f"  {flushes_max}")
        print(_line(f"AM batches of {BATCH}, {AM_CONCURRENCY} conn.", am_lat, am_elapsed, AM_BATCHES * BATCH,
                    am_status))  # fmt: skip
        print(f"  {_cpu_split(am_per_alert, 'an alert', wal_am / (AM_BATCHES * BATCH))}")
        pg_am = cpu_am_after["postgres"] - cpu_am_before["postgres"]
        print(f"  {_pg_split(pg_am_before, pg_am_after, pg_am, AM_BATCHES * BATCH, 'an alert')}")
        print(f"  {flushes_am}")
        print(f"backends busy (mean per sample, state wait): {sampler.report()}")
        print("the same by process (application_name):")
        print(sampler.report_processes())
        print("the same by statement (running, or last run when idle in transaction):")
        print(sampler.report_statements())
        print("lock waits by what is in their way (waiting  <-  the blocker's process and state: statement):")
        print(sampler.report_blockers())
        print("per load (mean busy backends while it ran):")
        print(sampler.report_phases())
        print(cpu_line)
        print(am_cpu_line, flush=True)

        keys = sorted(first_sent)
        settle_seconds = _settle(world, keys)
        incidents, rows = _pages(world, keys)
        stages = _stages(world, keys)
        reactions = _reactions_line(world, keys)
        delivered = world.peers.delivered()
        arrivals = world.peers.arrival_times()
        # The database's own speed again, as before the storm: with its backlog (the general
        # worker's playbooks and automation, seconds to minutes behind) the baseline would be the
        # platform's leftovers competing with pgbench, and every ratio flattered.
        with Paused(world):
            tps_after = pgbench_tps(world.postgres)

    # --- counting ---------------------------------------------------------------------------------
    by_key: dict[str, list] = {}
    for key, incident_id, status, occurrences in incidents:
        by_key.setdefault(key, []).append((incident_id, status, occurrences))
    lost_incidents = [key for key in keys if not any(s == "triggered" for _, s, _ in by_key.get(key, []))]
    doubled_incidents = [key for key, found in by_key.items() if len(found) > 1]
    sent_pd = pd_keys.sent
    miscounted = [key for key, count in sent_pd.items() if [o for _, _, o in by_key.get(key, [])] != [count]]
    rows_by_incident: dict[int, list] = {}
    for incident_id, delivery_id, medium, status in rows:
        rows_by_incident.setdefault(incident_id, []).append((delivery_id, medium, status))
    key_of = {incident_id: key for key, incident_id, _, _ in incidents}
    unpaged = [incident_id for incident_id in key_of if incident_id not in rows_by_incident]
    lost_pages = [row[1] for row in rows if delivered[row[1]] < 1]
    doubled_pages = [delivery_id for delivery_id, count in delivered.items() if count > 1]
    page_seconds, _ = _first_pages(rows_by_incident, arrivals, first_sent, key_of)
    webhook_seconds, no_webhook = _first_pages(rows_by_incident, arrivals, first_sent, key_of, "webhook")

    tps = (tps_before + tps_after) / 2
    pd_max_rps = len(max_lat) / max_elapsed
    am_alerts = AM_BATCHES * BATCH / am_elapsed
    print(f"pgbench single-row INSERT, 2 clients, 10 s, after the storm, workers paused: {tps_after:.0f} tps")
    print(
        f"new incidents {len(key_of)} ({len(keys)} keys); pages {len(rows)} in the outbox, "
        f"settled {settle_seconds:.0f} s after the load; trigger -> first page: "
        f"p50 {percentile(page_seconds or [0], 50):.2f} s, p99 {percentile(page_seconds or [0], 99):.2f} s, "
        f"max {max(page_seconds, default=0):.2f} s; to the first webhook page:"
        f" p50 {percentile(webhook_seconds or [0], 50):.2f} s,"
        f" p99 {percentile(webhook_seconds or [0], 99):.2f} s"
    )
    print(f"first page's way (server times): {_stage_line(first_sent, stages)}")
    print(f"escalation ticks (the paging worker's log): {_tick_line(world.platform.text())}")
    print(f"the general worker, when the pages had settled: {reactions}")
    print(
        f"lost / doubled incidents {len(lost_incidents)} / {len(doubled_incidents)}, "
        f"miscounted {len(miscounted)}; "
        f"lost / doubled pages {len(lost_pages)} / {len(doubled_pages)}, incidents without a page "
        f"{len(unpaged)}, without a webhook page {no_webhook}"
    )

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    paced_p99, max_p99 = percentile(paced_lat, 99), percentile(max_lat, 99)
    errors = sum(n for s, n in (paced_status + max_status + am_status).items() if s != 202)
    pd_ok = pd_max_rps >= PD_TARGET_RATIO * tps and max(paced_p99, max_p99) < PD_TARGET_P99_MS and not errors
    page_p99 = percentile(page_seconds, 99) if page_seconds else float("inf")
    page_verdict = "n/a, paging paused" if PAUSE_BACKGROUND else verdict(page_p99 < PAGE_TARGET_P99_S)
    print(
        f"targets (pgbench mean {tps:.0f} tps): single events {pd_max_rps:.0f}/s = {pd_max_rps / tps:.3f} x "
        f"(>= {PD_TARGET_RATIO}), p99 paced {paced_p99:.0f} ms / max {max_p99:.0f} ms "
        f"(< {PD_TARGET_P99_MS}), {errors} errors: {verdict(pd_ok)}"
        f" (its CPU an event allows {pd_ceiling / tps:.3f} x)"
        f"; batches {am_alerts:.0f} alerts/s = {am_alerts / tps:.2f} x (>= {AM_TARGET_RATIO}): "
        f"{verdict(am_alerts >= AM_TARGET_RATIO * tps)} (its CPU an alert allows {am_ceiling / tps:.2f} x)"
        f"; first page p99 "
        f"{page_p99:.2f} s (< {PAGE_TARGET_P99_S}): "
        f"{page_verdict}; lost/doubled: "
        f"{verdict(not (lost_incidents or doubled_incidents or lost_pages or doubled_pages or unpaged))}"
    )
    assert not errors
    assert not lost_incidents and not doubled_incidents and not miscounted
    assert not lost_pages and not doubled_pages and not unpaged
