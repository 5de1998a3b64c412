"""The whole platform as ``make run`` starts it: ``python -m opsplatform.devtools.runner`` (web,
worker and beat as its children), against the private servers of a fault test.

The runner's log says which children it started and restarted (``[runner] started web (pid N)``,
``[runner] restarted worker (pid N)``); the test reads it to know the current pid of each child.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

BASE_DIR = Path(__file__).resolve().parents[2]
CHILDREN = ("web", "paging", "delivery", "worker", "beat")
STARTED = re.compile(r"\[runner\] (?:started|restarted) (\w+) \(pid (\d+)\)")
EXITED = re.compile(r"\[runner\] (\w+) exited with status")
# Variables of the test process that must not reach the platform: it runs with production settings
# against the private servers only.
DROPPED = ("DJANGO_SETTINGS_MODULE", "CELERY_BROKER_URL", "TEST_DATABASE_NAME", "PYTEST_XDIST_WORKER")


def platform_env(*, database_url: str, redis_url: str, port: int, extra: dict) -> dict:
    env = {key: value for key, value in os.environ.items() if key not in DROPPED}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "opsplatform.settings",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "DEBUG": "true",  # as `make run` sets it
            "PYTHONUNBUFFERED": "1",
            **extra,
        }
    )
    return env


def manage(env: dict, *args: str, log: Path) -> None:
    with log.open("ab") as handle:
        subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            check=True,
            timeout=300,
        )


@dataclass
class Platform:
    env: dict
    port: int
    log: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        handle = self.log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "opsplatform.devtools.runner"],
            cwd=BASE_DIR,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the runner exited with {self.process.returncode}:\n{self.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            time.sleep(0.5)
        raise RuntimeError(f"the platform did not come up:\n{self.tail()}")

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.text().splitlines()[-lines:])

    def pids(self) -> dict[str, int]:
        """The pid the runner last started for each child."""
        return {name: int(pid) for name, pid in STARTED.findall(self.text())}

    def restarts(self) -> dict[str, int]:
        """How many times each child died and was restarted so far."""
        counts = dict.fromkeys(CHILDREN, 0)
        for name in EXITED.findall(self.text()):
            counts[name] = counts.get(name, 0) + 1
        return counts

    def dead_children(self) -> list[str]:
        """Children whose current process is gone and that the runner has not restarted (yet)."""
        dead = []
        for name in CHILDREN:
            pid = self.pids().get(name)
            if pid is None or not _alive(pid):
                dead.append(name)
        return dead

    def stop(self) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            for pid in self.pids().values():
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
            return self.process.wait()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has died; the runner has just not reaped it yet
