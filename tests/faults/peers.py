"""Where the platform's pages arrive during a drill: a loopback webhook receiver (the demo
organizations' webhook channel points at it) and a loopback SMTP server (the e-mails to whoever is
on call). Each page carries its delivery id (``X-OpsPlatform-Delivery``, the outbox row's
idempotency key), which is how the drill counts what arrived per page.

``running_peers(own_process=True)`` runs them in a process of their own, as a real receiver is: a
benchmark whose load generator shares this process would otherwise slow the receivers down (one
interpreter lock) and count that as the platform's delivery time.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tests.notifications.peers import Receiver, http_receiver, smtp_server


@dataclass
class Peers:
    webhook: Receiver
    smtp_port: int
    mails: list

    def arrivals(self) -> list[tuple[str, str, float]]:
        """(kind, delivery id, arrival time) of every webhook request and e-mail so far."""
        with self.webhook.lock:
            requests = list(self.webhook.requests)
        seen = [("webhook", r.headers.get("x-opsplatform-delivery", ""), r.at) for r in requests]
        seen += [("mail", _mail_delivery(envelope), envelope.received_at) for envelope in list(self.mails)]
        return seen

    def delivered(self) -> Counter:
        """Requests and e-mails received per delivery id."""
        return Counter(delivery for _, delivery, _ in self.arrivals())

    def arrival_times(self) -> dict[str, list[float]]:
        """When each delivery id arrived (each time it did), webhook requests and e-mails alike."""
        arrivals: dict[str, list[float]] = {}
        for _, delivery, at in self.arrivals():
            arrivals.setdefault(delivery, []).append(at)
        return arrivals


def _mail_delivery(envelope) -> str:
    # The default policy unfolds long header lines (the delivery id is 64 characters).
    message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    return str(message.get("X-OpsPlatform-Delivery", "")).strip()


class _Address:
    def __init__(self, base: str):
        self.base = base

    def url(self, path: str) -> str:
        return self.base + path


class RemotePeers(Peers):
    """The same peers in a child process, which appends what arrives to a file of JSON lines."""

    def __init__(self, webhook_url: str, smtp_port: int, log: Path, pid: int):
        super().__init__(webhook=_Address(webhook_url), smtp_port=smtp_port, mails=[])
        self.log, self.pid = log, pid

    def arrivals(self) -> list[tuple[str, str, float]]:
        lines = self.log.read_text().splitlines() if self.log.exists() else []
        return [tuple(json.loads(line)) for line in lines if line.endswith("]")]


def _serve(log: str) -> None:
    """``python -m tests.faults.peers <log>``: serve, print where, append arrivals to ``log``."""
    with http_receiver() as webhook, smtp_server() as (smtp_port, mails):
        print(webhook.url(""), smtp_port, flush=True)
        # Both lists only grow: each pass writes what arrived since the last one.
        requests_written = mails_written = 0
        with open(log, "a") as out:
            while True:
                with webhook.lock:
                    requests = webhook.requests[requests_written:]
                new_mails = mails[mails_written:]
                for request in requests:
                    delivery = request.headers.get("x-opsplatform-delivery", "")
                    out.write(json.dumps(["webhook", delivery, request.at]) + "\n")
                for envelope in new_mails:
                    out.write(json.dumps(["mail", _mail_delivery(envelope), envelope.received_at]) + "\n")
                requests_written += len(requests)
                mails_written += len(new_mails)
                out.flush()
                time.sleep(0.1)


@contextlib.contextmanager
def running_peers(*, own_process: bool = False):
    if not own_process:
        with http_receiver() as webhook, smtp_server() as (smtp_port, mails):
            yield Peers(webhook=webhook, smtp_port=smtp_port, mails=mails)
        return
    with tempfile.TemporaryDirectory(prefix="opsplatform-peers-") as folder:
        log = Path(folder) / "arrivals.jsonl"
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.faults.peers", str(log)],
            cwd=Path(__file__).resolve().parents[2],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            webhook_url, smtp_port = child.stdout.readline().split()
            yield RemotePeers(webhook_url, int(smtp_port), log, child.pid)
        finally:
            child.terminate()
            child.wait(10)


if __name__ == "__main__":
    _serve(sys.argv[1])
