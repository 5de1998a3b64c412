"""Small helpers for the benchmarks: percentiles and a fixed-width report."""

import statistics
import time


def percentile(samples, p):
    ordered = sorted(samples)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def timed(fn, n):
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def report(title, rows):
    print(f"\n{title}")
    print(f"{'what':<44}{'n':>6}{'p50 ms':>10}{'p95 ms':>10}{'mean ms':>10}")
    for name, samples in rows:
        print(
            f"{name:<44}{len(samples):>6}{percentile(samples, 50):>10.2f}{percentile(samples, 95):>10.2f}"
            f"{statistics.fmean(samples):>10.2f}"
        )


def cost_rounds(run, chunks, database_ms: list[float] | None = None):
    """This process's CPU time and the wall time per item, in ms, for each chunk ``run`` is given;
    ``database_ms``, if given, receives the CPU time per item of the database server's processes
    serving the test database (on this machine in every benchmark): ``database_cpu``."""
    cpu_ms, wall_ms = [], []
    for chunk in chunks:
        backend = database_cpu() if database_ms is not None else 0.0
        cpu, wall = time.process_time(), time.perf_counter()
        run(chunk)
        cpu_ms.append((time.process_time() - cpu) / len(chunk) * 1000)
        wall_ms.append((time.perf_counter() - wall) / len(chunk) * 1000)
        if database_ms is not None:
            database_ms.append((database_cpu() - backend) / len(chunk) * 1000)
    return cpu_ms, wall_ms


def processes_cpu(processes) -> float:
    """CPU seconds (user + system) used so far by ``processes`` (pids or ``psutil.Process``), those
    that have ended meanwhile left out."""
    import psutil

    used = 0.0
    for process in processes:
        try:
            times = (process if isinstance(process, psutil.Process) else psutil.Process(process)).cpu_times()
        except psutil.NoSuchProcess:
            continue
        used += times.user + times.system
    return used


def database_cpu() -> float:
    """CPU seconds used so far by the database server's processes serving this database's
    connections (this thread's, and any the code measured opened of its own, as a committer thread
    does): nothing else uses a benchmark's test database."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        return processes_cpu(row[0] for row in cursor.fetchall())


def print_rounds(cpu_ms, wall_ms, per: str, decimals: int = 1) -> tuple[float, float]:
    """One line per round (``per``: "a batch", "an event"); the medians of CPU and wall time,
    printed by the caller with its rate."""
    for n, (cpu, wall) in enumerate(zip(cpu_ms, wall_ms, strict=True)):
        print(f"round {n + 1}: CPU {cpu:.{decimals}f} ms, wall {wall:.{decimals}f} ms {per}")
    return statistics.median(cpu_ms), statistics.median(wall_ms)


def end_other_connections(settle_seconds: float = 10.0) -> None:
    """End the connections the code measured opened on threads of its own (the group committer's,
    the ledger sealer's), once the sealer has sealed what was staged: the test database cannot be
    flushed and dropped while they are open, and a seal cut off would log its failure."""
    from django.db import connection

    from audit.sealing import staged_chains

    deadline = time.monotonic() + settle_seconds
    while staged_chains() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)  # the sealer's own transaction, committed, then its thread idle
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


def analyze() -> None:
    """Fresh planner statistics, as autovacuum keeps them on a live database: on tables filled from
    nothing a moment ago, the planner would still take them for empty."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
