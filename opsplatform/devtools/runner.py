"""``python -m opsplatform.devtools.runner``: the whole platform in one foreground command.

Runs the platform in its production shape as child processes: the ASGI server in one process per
CPU (``opsplatform.devtools.serve``, a connection pool per process, no access log line per request),
a Celery worker for paging (escalation and delivery, queue ``paging``), a Celery worker for the
other ticks, and Celery beat; prints where to log in, and stops all of them together on Ctrl-C or
SIGTERM. ``make run`` ends with this command.

A child that dies is started again, after a pause that doubles while it keeps dying (a broker or
database outage can take a worker down; paging must come back by itself when the outage ends).
Only a child that cannot start at all (it died within ``STARTUP_SECONDS`` of each of its last
``CRASH_LOOP_STARTS`` starts) stops the platform, with a non-zero exit status.

Each child gets its own process group, so a Ctrl-C in the terminal reaches the runner alone and
the children are stopped in order: SIGTERM, a grace period, then SIGKILL for anything left in the
group. On Linux the children are also told to exit if the runner itself is killed.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]  # the repository root
STOP_TIMEOUT_SECONDS = 15
SEED_TIMEOUT_SECONDS = 120
POLL_SECONDS = 0.2
# A child that lived this long started fine; its next death is a fresh incident, not a crash loop.
STARTUP_SECONDS = 10.0
CRASH_LOOP_STARTS = 5
RESTART_DELAY_SECONDS = 1.0
RESTART_DELAY_MAX_SECONDS = 30.0
# Where to reach a server bound to a wildcard address from this machine.
# The queues the escalation and the delivery ticks are routed to (settings.CELERY_PAGING_QUEUE and
# CELERY_DELIVERY_QUEUE).
PAGING_QUEUE = "paging"
DELIVERY_QUEUE = "delivery"
# The general worker's and beat's CPU priority (``WORKER_NICE``): below ingestion and paging.
WORKER_NICE_DEFAULT = 10
# The delivery worker's (``DELIVERY_NICE``): sending a storm's pages may trail its alerts a little.
DELIVERY_NICE_DEFAULT = 0
# An unprivileged process may change its session's group priority once per 100 ms (Linux).
AUTOGROUP_ATTEMPTS = 5
WILDCARD_TO_LOCAL = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}  # noqa: S104


def _log(message: str) -> None:
    print(f"[runner] {message}", file=sys.stdout, flush=True)


def _parent_death_signal():
    """A ``preexec_fn`` asking Linux to SIGTERM the child when the runner dies, or None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    pr_set_pdeathsig = 1
    parent = os.getpid()

    def preexec() -> None:
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
        if os.getppid() != parent:  # the runner died between fork and prctl
            os._exit(1)

    return preexec


def _with_nice(preexec, nice: int):
    """``preexec`` that also lowers the child's CPU priority by ``nice``.

    Each child leads a session of its own, and Linux, with autogroup scheduling (on by default in
    most distributions), shares the CPU between sessions first, equally: a process's own nice value
    then weighs only against the processes of its session. Measured in a storm, a per-process nice
    of the general worker changed nothing, while its session's group at the same value gave the
    web the CPU. So the group gets the value (``/proc/self/autogroup``; a new session's group starts
    at 0, so the value is the same there), and the process too, for kernels without autogroups."""

    def apply() -> None:
        if preexec is not None:
            preexec()
        for _ in range(AUTOGROUP_ATTEMPTS):
            try:
                fd = os.open("/proc/self/autogroup", os.O_WRONLY)
            except OSError:
                break  # no autogroups here: the process's own nice value is what counts
            try:
                os.write(fd, str(nice).encode())
                break
            except BlockingIOError:  # another child changed its group within the last 100 ms
                time.sleep(0.11)
            except OSError:
                break
            finally:
                os.close(fd)
        os.nice(nice)

    return apply


def worker_nice() -> int:
    """``WORKER_NICE`` (0 to 19), else ``WORKER_NICE_DEFAULT``."""
    return _nice_setting("WORKER_NICE", WORKER_NICE_DEFAULT)


def delivery_nice() -> int:
    """``DELIVERY_NICE`` (0 to 19), else ``DELIVERY_NICE_DEFAULT``."""
    return _nice_setting("DELIVERY_NICE", DELIVERY_NICE_DEFAULT)


def _nice_setting(variable: str, default: int) -> int:
    raw = os.environ.get(variable, "").strip()
    if raw.isdigit() and int(raw) <= 19:
        return int(raw)
    if raw:
        _log(f"{variable}={raw!r} is not a number from 0 to 19; using {default}")
    return default


@dataclass
class Child:
    name: str
    argv: list[str]
    # Variables this child gets on top of the runner's environment.
    env: dict[str, str] = field(default_factory=dict)
    # How much lower than the runner's this child's CPU priority is (a nice increment).
    nice: int = 0
    process: subprocess.Popen | None = field(default=None, repr=False)
    started_at: float = 0.0
    # consecutive deaths within STARTUP_SECONDS of a start
    quick_deaths: int = 0
    restart_at: float | None = None

    def start(self, preexec, **kwargs) -> None:
        self.started_at = time.monotonic()
        self.restart_at = None
        # preexec_fn is safe here: the runner is single-threaded.
        # Each child names its database sessions after itself (pg_stat_activity.application_name):
        # what holds a lock or a transaction open is then seen by process, not only by statement.
        # A name the operator set (either variable) is kept.
        own = os.environ.get("DATABASE_APPLICATION_NAME") or os.environ.get("PGAPPNAME")
        named = {} if own else {"DATABASE_APPLICATION_NAME": f"opsplatform {self.name}"}
        kwargs.setdefault("env", {**os.environ, **named, **self.env})
        self.process = subprocess.Popen(
            self.argv,
            cwd=BASE_DIR,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_with_nice(preexec, self.nice) if self.nice else preexec,  # noqa: PLW1509
            **kwargs,
        )

    def poll(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def signal_group(self, signum: int) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signum)

    def died(self, now: float) -> bool:
        """Account for an exit; True when the child is in a crash loop and must not be restarted."""
        if now - self.started_at < STARTUP_SECONDS:
            self.quick_deaths += 1
        else:
            self.quick_deaths = 0
        if self.quick_deaths >= CRASH_LOOP_STARTS:
            return True
        delay = min(RESTART_DELAY_SECONDS * 2 ** max(self.quick_deaths - 1, 0), RESTART_DELAY_MAX_SECONDS)
        self.restart_at = now + delay
        return False

    def terminate(self) -> None:
        # The main process only: Celery and uvicorn shut their own workers down in order.
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)


def web_processes() -> int:
    """Web server processes: ``WEB_CONCURRENCY`` when set, else one per CPU (each has one
    interpreter lock, so one process cannot use more than one core)."""
    raw = os.environ.get("WEB_CONCURRENCY", "").strip()
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    return max(1, os.cpu_count() or 1)


def children(host: str, port: str) -> list[Child]:
    python = sys.executable
    celery = [python, "-m", "celery", "-A", "opsplatform"]
    web = [
        python, "-m", "opsplatform.devtools.serve",
        "--host", host, "--port", port,
        "--workers", str(web_processes()),
        "--timeout-graceful-shutdown", "5",
    ]  # fmt: skip
    # One line per request, formatted and written by the process serving it, costs the hot path
    # more than the request's own SQL in a storm; WEB_ACCESS_LOG=true brings it back.
    if not _truthy(os.environ.get("WEB_ACCESS_LOG", "false")):
        web.append("--no-access-log")
    default_queue = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "") or "celery"
    paging_queue = os.environ.get("CELERY_PAGING_QUEUE", "") or PAGING_QUEUE
    delivery_queue = os.environ.get("CELERY_DELIVERY_QUEUE", "") or DELIVERY_QUEUE
    background = background_env()
    # In a storm, ingestion, escalation and delivery want the same two cores as the playbooks,
    # automation, analytics and monitoring ticks of the general worker; those can wait, the alert
    # senders and the first page cannot.
    nice = worker_nice()
    return [
        Child("web", web),
        # Escalation and delivery on workers of their own: a first page never waits in a queue
        # behind the playbook, automation, analytics and monitoring ticks of a storm, and neither
        # of the two waits for the other (a delivery tick sends for seconds).
        Child("paging", [*celery, "worker", "-l", "INFO", "-Q", paging_queue, "-n", "paging@%h",
                         "--concurrency", "2"], env=background),
        Child("delivery", [*celery, "worker", "-l", "INFO", "-Q", delivery_queue, "-n", "delivery@%h",
                           "--concurrency", "2"], env=background, nice=delivery_nice()),
        Child("worker", [*celery, "worker", "-l", "INFO", "-Q", default_queue, "-n", "worker@%h",
                         "--concurrency", "2"], env=background, nice=nice),
        Child("beat", [*celery, "beat", "-l", "INFO"], env=background, nice=nice),
    ]  # fmt: skip


def background_env() -> dict[str, str]:
    """Celery never renders a page, so ``DEBUG`` (on under ``make run``) would only make it record
    and format every SQL statement it runs: a cost per page sent in a storm, for nothing. Off there,
    the built-in development secret must be allowed explicitly, as DEBUG allowed it."""
    if not _truthy(os.environ.get("DEBUG", "false")):
        return {}
    return {"DEBUG": "false", "ALLOW_DEV_SECRET": os.environ.get("ALLOW_DEV_SECRET", "") or "1"}


def _truthy(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


def stop_all(running: list[Child], timeout: float = STOP_TIMEOUT_SECONDS, hurry=lambda: False) -> None:
    """SIGTERM every child, wait up to ``timeout`` (or until ``hurry()``), then SIGKILL the rest."""
    for child in running:
        child.terminate()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(child.poll() is None for child in running) and not hurry():
        time.sleep(0.1)
    for child in running:
        if child.poll() is None:
            _log(f"{child.name} did not stop in time, killing it")
        # Also reaps what a child left behind in its group (pool processes, reloaders).
        child.signal_group(signal.SIGKILL)
    for child in running:
        if child.process is not None:
            child.process.wait()


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((WILDCARD_TO_LOCAL.get(host, host), port), timeout=0.5):
            return True
    except OSError:
        return False


def format_logins(raw: str) -> list[str]:
    """Lines describing the demo accounts printed by ``manage.py seed_demo --json``.

    Expects ``{"superuser": {...}, "organizations": [{"name", "users": [...], "api_token"}]}``
    and prints whatever of it is there.
    """
    try:
        data = json.loads(raw)
    except ValueError:
        return []
    if not isinstance(data, dict):
        return []
    lines = []
    superuser = data.get("superuser")
    if isinstance(superuser, dict) and superuser.get("username"):
        lines.append(f"  superuser (/admin/): {superuser['username']} / {superuser.get('password', '?')}")
    organizations = data.get("organizations")
    for org in organizations if isinstance(organizations, list) else []:
        if not isinstance(org, dict):
            continue
        lines.append(f"  {org.get('name') or org.get('slug') or 'organization'}:")
        users = org.get("users")
        lines.extend(
            _format_user(user)
            for user in (users if isinstance(users, list) else [])
            if isinstance(user, dict)
        )
        if org.get("api_token"):
            lines.append(f"    API token: {org['api_token']}")
    return lines


def _format_user(user: dict) -> str:
    role = f"  ({user['role']})" if user.get("role") else ""
    return f"    {user.get('username', '?')} / {user.get('password', '?')}{role}"


class SeedListing:
    """``manage.py seed_demo --json`` in the background; its failure only costs the login list."""

    def __init__(self, preexec) -> None:
        self.output = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed in finish())
        self.child = Child("seed_demo", [sys.executable, "manage.py", "seed_demo", "--json"])
        self.child.start(preexec, stdout=self.output, stderr=subprocess.DEVNULL)
        self.deadline = time.monotonic() + SEED_TIMEOUT_SECONDS

    def result(self) -> list[str] | None:
        """The login lines once the command has finished, else None."""
        if self.child.poll() is None:
            if time.monotonic() > self.deadline:
                self.child.signal_group(signal.SIGKILL)
            return None
        self.output.seek(0)
        return format_logins(self.output.read()) if self.child.poll() == 0 else []

    def finish(self) -> None:
        if self.child.poll() is None:
            self.child.signal_group(signal.SIGKILL)
        if self.child.process is not None:
            self.child.process.wait()
        self.output.close()


class Runner:
    def __init__(self) -> None:
        self.host = os.environ.get("HOST", "") or "127.0.0.1"
        self.port = os.environ.get("PORT", "") or "8000"
        # Under ASGI every request runs on a fresh thread, so without a pool each one would open
        # its own PostgreSQL connection; the children inherit this unless it is set already.
        if not os.environ.get("DB_CONN_MAX_AGE"):
            os.environ.setdefault("DB_POOL_MAX_SIZE", "8")
        # The demo's monitors probe the demo server itself, on loopback, which the SSRF guard refuses
        # unless allowed (a deployment sets its own list, or none).
        os.environ.setdefault("OUTBOUND_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128")
        # Routes the paging ticks to the paging worker (children below); inherited by every child.
        os.environ.setdefault("CELERY_PAGING_QUEUE", PAGING_QUEUE)
        os.environ.setdefault("CELERY_DELIVERY_QUEUE", DELIVERY_QUEUE)
        self.stop_signal: int | None = None
        self.signals_received = 0
        self.children = children(self.host, self.port)
        self.started: list[Child] = []
        self.url_shown = False
        self.pending_logins: list[str] | None = None

    def _request_stop(self, signum, frame) -> None:
        # The first signal starts a graceful stop; a second one (Ctrl-C again) kills what is left.
        self.signals_received += 1
        if self.stop_signal is None:
            self.stop_signal = signum

    def run(self) -> int:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, self._request_stop)
        if not self.port.isdigit():
            _log(f"PORT must be a number, got {self.port!r}")
            return 2
        preexec = _parent_death_signal()
        seed = None
        failed = None
        try:
            for child in self.children:
                if self.stop_signal is None:
                    child.start(preexec)
                    self.started.append(child)
                    _log(f"started {child.name} (pid {child.process.pid}): {' '.join(child.argv[1:])}")
            seed = SeedListing(preexec)
            failed = self._supervise(seed)
        finally:
            if seed is not None:
                seed.finish()
            if failed is not None:
                _log(
                    f"{failed.name} cannot start (it died {CRASH_LOOP_STARTS} times within "
                    f"{STARTUP_SECONDS:.0f} s of starting); stopping the others"
                )
            elif self.stop_signal is not None:
                _log(f"received {signal.Signals(self.stop_signal).name}; stopping")
            stop_all(self.started, hurry=lambda: self.signals_received >= 2)
            _log("all processes stopped")
        return 1 if failed is not None else 0

    def _supervise(self, seed: SeedListing) -> Child | None:
        """Wait for a stop signal (returns None) or a child in a crash loop (returns that child);
        restart any other child that exits."""
        logins_done = False
        preexec = _parent_death_signal()
        while self.stop_signal is None:
            now = time.monotonic()
            for child in self.started:
                if child.restart_at is None and child.poll() is not None:
                    if child.died(now):
                        return child
                    _log(
                        f"{child.name} exited with status {child.poll()}; "
                        f"restarting it in {child.restart_at - now:.0f} s"
                    )
                elif child.restart_at is not None and now >= child.restart_at:
                    child.signal_group(signal.SIGKILL)  # what the dead one left in its group
                    child.start(preexec)
                    _log(f"restarted {child.name} (pid {child.process.pid})")
            if not logins_done and (logins := seed.result()) is not None:
                self.pending_logins = logins
                logins_done = True
            if not self.url_shown and port_open(self.host, int(self.port)):
                self.url_shown = True
                self._banner()
            if self.url_shown and self.pending_logins is not None:
                self._show_logins(self.pending_logins)
                self.pending_logins = None
            time.sleep(POLL_SECONDS)
        return None

    def _banner(self) -> None:
        shown_host = WILDCARD_TO_LOCAL.get(self.host, self.host)
        if ":" in shown_host:
            shown_host = f"[{shown_host.strip('[]')}]"
        base = f"http://{shown_host}:{self.port}"
        _log(f"OpsPlatform is up at {base}/  (admin {base}/admin/, API docs {base}/api/v1/docs/)")
        _log("press Ctrl-C to stop")

    def _show_logins(self, lines: list[str]) -> None:
        if lines:
            _log("demo logins (username / password):")
            for line in lines:
                print(line, flush=True)
        else:
            _log("demo logins unavailable (`manage.py seed_demo --json` failed or printed nothing)")


def main() -> int:
    return Runner().run()


if __name__ == "__main__":
    sys.exit(main())
