"""Alert traffic and a health probe for the fault drills.

Senders behave as Alertmanager and PagerDuty clients do: a 503 or 429 is retried after its
``Retry-After``, a connection error after a short pause, until the event is accepted (202). Every
attempt is recorded (its answer or its error), and every accepted event with its dedup keys.

Each sender paces itself at ``rate`` events per second; one event in three repeats a dedup key the
sender already had accepted (it must join that key's open incident, not open another).
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field

import httpx

PD_KEY = "opi_demo_acme_pagerduty_7c41d9e2a5b8f036"
AM_KEY = "opi_demo_acme_alertmanager_3f8a1c6d9e2b4705"
CLIENT_TIMEOUT_SECONDS = 30
CONNECTION_RETRY_SECONDS = 0.5
# A sender never waits longer than this on one Retry-After (the platform sends 5 s).
MAX_RETRY_AFTER_SECONDS = 10
# Give up on an event after this long: the drill fails (an outage of seconds must not lose one).
EVENT_DEADLINE_SECONDS = 90


@dataclass
class Attempt:
    at: float
    kind: str
    status: int | None  # None: no answer (the error names what happened)
    retry_after: str | None = None
    error: str | None = None


@dataclass
class Accepted:
    at: float
    kind: str
    keys: list[str]


@dataclass
class Traffic:
    attempts: list[Attempt] = field(default_factory=list)
    accepted: list[Accepted] = field(default_factory=list)
    abandoned: list[list[str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_attempt(self, attempt: Attempt) -> None:
        with self.lock:
            self.attempts.append(attempt)

    def accepted_keys(self) -> set[str]:
        with self.lock:
            return {key for event in self.accepted for key in event.keys}


def _pagerduty(dedup_key: str) -> tuple[str, dict]:
    return "/v2/enqueue", {
        "routing_key": PD_KEY,
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "payload": {"summary": f"Fault drill {dedup_key}", "source": "drill", "severity": "error"},
    }


def _alertmanager(fingerprints: list[str]) -> tuple[str, dict]:
    alerts = [
        {
            "status": "firing",
            "labels": {"alertname": "FaultDrill", "instance": fingerprint, "severity": "critical"},
            "annotations": {"summary": f"Fault drill {fingerprint}"},
            "startsAt": "2026-03-14T09:26:53.415Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "fingerprint": fingerprint,
        }
        for fingerprint in fingerprints
    ]
    return f"/api/v1/integrations/{AM_KEY}/alertmanager/", {
        "version": "4",
        "status": "firing",
        "receiver": "opsplatform",
        "groupKey": '{}:{alertname="FaultDrill"}',
        "truncatedAlerts": 0,
        "groupLabels": {"alertname": "FaultDrill"},
        "commonLabels": {"alertname": "FaultDrill"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": alerts,
    }


class Sender(threading.Thread):
    def __init__(
        self, base_url: str, kind: str, prefix: str, rate: float, traffic: Traffic, stop: threading.Event
    ):
        super().__init__(name=f"sender-{prefix}", daemon=True)
        self.base_url, self.kind, self.prefix, self.rate = base_url, kind, prefix, rate
        self.traffic, self.stop_event = traffic, stop
        self.random = random.Random(prefix)
        self.sent_keys: list[str] = []
        self.counter = 0

    def _new_key(self) -> str:
        self.counter += 1
        return f"{self.prefix}-{self.counter}"

    def _keys(self) -> list[str]:
        repeat = self.sent_keys and self.random.random() < 1 / 3
        first = self.random.choice(self.sent_keys) if repeat else self._new_key()
        if self.kind == "pagerduty":
            return [first]
        return [first, self._new_key()]  # an Alertmanager group of two alerts

    def run(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=CLIENT_TIMEOUT_SECONDS) as client:
            next_at = time.monotonic()
            while not self.stop_event.is_set():
                keys = self._keys()
                self._deliver(client, keys)
                next_at = max(next_at + 1 / self.rate, time.monotonic())
                self.stop_event.wait(max(0.0, next_at - time.monotonic()))

    def _deliver(self, client: httpx.Client, keys: list[str]) -> None:
        path, body = _pagerduty(keys[0]) if self.kind == "pagerduty" else _alertmanager(keys)
        deadline = time.monotonic() + EVENT_DEADLINE_SECONDS
        while time.monotonic() < deadline:
            try:
                response = client.post(path, json=body)
            except httpx.HTTPError as exc:
                self.traffic.add_attempt(Attempt(time.time(), self.kind, None, error=type(exc).__name__))
                time.sleep(CONNECTION_RETRY_SECONDS)
                continue
            retry_after = response.headers.get("Retry-After")
            self.traffic.add_attempt(Attempt(time.time(), self.kind, response.status_code, retry_after))
            if response.status_code == 202:
                with self.traffic.lock:
                    self.traffic.accepted.append(Accepted(time.time(), self.kind, keys))
                self.sent_keys.extend(key for key in keys if key not in self.sent_keys)
                return
            wait = CONNECTION_RETRY_SECONDS
            if retry_after and retry_after.isdigit():
                wait = min(int(retry_after), MAX_RETRY_AFTER_SECONDS)
            time.sleep(wait)
        with self.traffic.lock:
            self.traffic.abandoned.append(keys)


@dataclass
class Probe:
    at: float
    status: int | None
    body: dict | None


class HealthProbe(threading.Thread):
    """``GET /healthz`` every ``interval`` seconds, as a load balancer does."""

    def __init__(self, base_url: str, stop: threading.Event, interval: float = 0.25):
        super().__init__(name="healthz-probe", daemon=True)
        self.url = f"{base_url}/healthz"
        self.stop_event, self.interval = stop, interval
        self.probes: list[Probe] = []

    def run(self) -> None:
        with httpx.Client(timeout=5) as client:
            while not self.stop_event.is_set():
                try:
                    response = client.get(self.url)
                    body = (
                        response.json()
                        if response.headers.get("content-type", "").startswith("application/json")
                        else None
                    )
                    self.probes.append(Probe(time.time(), response.status_code, body))
                except httpx.HTTPError:
                    self.probes.append(Probe(time.time(), None, None))
                self.stop_event.wait(self.interval)
