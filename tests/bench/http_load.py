"""The load side of the ingestion benchmarks: dedup-key streams, PagerDuty and Alertmanager bodies,
and a minimal keep-alive HTTP/1.1 client driving them paced or as fast as N connections allow."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter

KEYS = 10_000
DUPLICATE_SHARE = 0.9


class KeyStream:
    """Dedup keys where one in ten is new (until the 10,000 are used) and the rest repeat one sent before."""

    def __init__(self, prefix: str, seed: int):
        self.prefix, self.rng, self.used = prefix, random.Random(seed), 0
        self.sent: Counter[str] = Counter()

    def next(self) -> str:
        if self.used == 0 or (self.used < KEYS and self.rng.random() >= DUPLICATE_SHARE):
            key = f"{self.prefix}-{self.used:05d}"
            self.used += 1
        else:
            key = f"{self.prefix}-{self.rng.randrange(self.used):05d}"
        self.sent[key] += 1
        return key


# --- loads --------------------------------------------------------------------------------------


def pd_event(routing_key: str, dedup_key: str) -> bytes:
    return json.dumps(
        {
            "routing_key": routing_key,
            "event_action": "trigger",
            "dedup_key": dedup_key,
            "payload": {
                "summary": f"Checkout error rate above 5% ({dedup_key})",
                "source": "checkout-7f9c.prod.example.net",
                "severity": "error",
                "component": "checkout",
                "group": "payments",
                "class": "error-rate",
                "custom_details": {"error_rate": 0.071, "window": "5m"},
            },
            "client": "Bench",
            "client_url": "https://monitoring.example.net/bench",
        }
    ).encode()


def am_batch(keys: list[str], started: str) -> bytes:
    alerts = [
        {
            "status": "firing",
            "labels": {"alertname": "HighLatency", "instance": key, "job": "api", "severity": "warning"},
            "annotations": {"summary": f"p99 latency above 2s on {key}"},
            "startsAt": started,
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example.net/graph?g0.expr=latency",
            "fingerprint": key,
        }
        for key in keys
    ]
    return json.dumps(
        {
            "version": "4",
            "groupKey": '{}:{alertname="HighLatency"}',
            "truncatedAlerts": 0,
            "status": "firing",
            "receiver": "opsplatform",
            "groupLabels": {"alertname": "HighLatency"},
            "commonLabels": {"alertname": "HighLatency", "job": "api"},
            "commonAnnotations": {},
            "externalURL": "http://alertmanager.example.net:9093",
            "alerts": alerts,
        }
    ).encode()


class Connection:
    """A minimal HTTP/1.1 keep-alive client: the load generator shares two CPUs with the server and
    the database, so it must cost far less per request than the server it measures."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def post(self, path: str, body: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        status_line = await self.reader.readline()
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length:
            await self.reader.readexactly(length)
        return int(status_line.split()[1])

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def paced(
    port: int,
    path: str,
    bodies: list[bytes],
    rate: float,
    connections: int = 16,
    sent_at: list[float] | None = None,
) -> tuple[list[float], Counter, float]:
    """Send ``bodies`` at ``rate`` per second over a pool of keep-alive connections (a request waits
    for a free one, as a real sender's client would). Latency runs from each request's scheduled
    start, so a server falling behind shows as latency, not as a slower send rate. ``sent_at``, if
    given, receives each request's scheduled start as wall-clock time (by index)."""
    latencies: list[float] = [0.0] * len(bodies)  # in schedule order, for the per-window figures
    statuses: Counter = Counter()
    pool: asyncio.Queue = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(Connection("127.0.0.1", port))
    start = time.perf_counter()
    wall_start = time.time()

    async def one(index: int, body: bytes, scheduled: float) -> None:
        conn = await pool.get()
        try:
            statuses[await conn.post(path, body)] += 1
        finally:
            pool.put_nowait(conn)
        latencies[index] = (time.perf_counter() - scheduled) * 1000

    # Each request is started when it falls due: creating thousands of waiting tasks up front would
    # cost the generator a pause of its own at the start, counted as the server's latency.
    running = []
    for index, body in enumerate(bodies):
        scheduled = start + index / rate
        if sent_at is not None:
            sent_at[index] = wall_start + index / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        running.append(asyncio.create_task(one(index, body, scheduled)))
    await asyncio.gather(*running)
    elapsed = time.perf_counter() - start
    while not pool.empty():
        await pool.get_nowait().close()
    return latencies, statuses, elapsed


async def saturate(
    port: int, path: str, bodies: list[bytes], concurrency: int, sent_at: list[float] | None = None
) -> tuple[list[float], Counter, float]:
    """Send ``bodies`` as fast as ``concurrency`` keep-alive connections allow; ``sent_at``, if
    given, receives each request's send time as wall-clock time (by index). Latencies by index."""
    latencies: list[float] = [0.0] * len(bodies)
    statuses: Counter = Counter()
    queue = list(reversed(range(len(bodies))))
    start = time.perf_counter()

    async def worker() -> None:
        conn = Connection("127.0.0.1", port)
        while queue:
            index = queue.pop()
            body = bodies[index]
            if sent_at is not None:
                sent_at[index] = time.time()
            sent = time.perf_counter()
            statuses[await conn.post(path, body)] += 1
            latencies[index] = (time.perf_counter() - sent) * 1000
        await conn.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, statuses, time.perf_counter() - start
