"""``python -m opsplatform.devtools.serve``: the ASGI server (uvicorn) in worker processes that each
listen on a socket of their own (``SO_REUSEPORT``), so the kernel spreads connections across them.

Why not ``uvicorn --workers``: there the workers share one listening socket, and Linux tends to hand
a burst of new connections to the same process. Long-lived keep-alive connections (a proxy's, an
alert sender's) then pile up on one worker while the others idle, and that one process (one GIL, so
at most one core) carries the whole load. Measured here: 16 connections of an alert storm all on one
of two workers, which fell behind at 300 requests/s while the other had nothing to do. With a socket
per worker the kernel picks one by each connection's address hash: even on average, not for a few
dozen connections (32 of a storm benchmark's landed 23 and 9 once; docs/benchmarks.md).

Options are uvicorn's: ``--host``, ``--port``, ``--workers`` (default ``WEB_CONCURRENCY`` or 1),
``--proxy-headers`` (trusting ``FORWARDED_ALLOW_IPS``), ``--log-level``, ``--no-access-log``,
``--timeout-graceful-shutdown``. SIGTERM or SIGINT stops the workers gracefully; a worker that dies
is started again, unless workers keep dying at start-up (then it exits with status 1). Where the
platform has no ``SO_REUSEPORT``, this falls back to ``uvicorn --workers``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import socket
import sys
import time

import uvicorn

APP = "opsplatform.asgi:application"
POLL_SECONDS = 0.5
STOP_TIMEOUT_SECONDS = 30
# A worker that dies this soon after starting failed to start (bad settings, no database driver…);
# after this many such deaths in a row, restarting cannot help: stop and exit non-zero.
EARLY_EXIT_SECONDS = 10
MAX_EARLY_EXITS = 5


def _log(message: str) -> None:
    print(f"[serve] {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m opsplatform.devtools.serve", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY") or 1))
    parser.add_argument("--proxy-headers", action="store_true")
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--no-access-log", action="store_true")
    parser.add_argument("--timeout-graceful-shutdown", type=int, default=20)
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    return args


def uvicorn_options(args: argparse.Namespace) -> dict:
    return {
        "proxy_headers": args.proxy_headers,
        "log_level": args.log_level,
        "access_log": not args.no_access_log,
        "timeout_graceful_shutdown": args.timeout_graceful_shutdown,
        "ws": "websockets-sansio",
        "server_header": False,
    }


def listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP spelled out: accepted sockets inherit it, and asyncio only turns Nagle's algorithm
    # off (TCP_NODELAY) on sockets that say they are TCP. Without it every response waits ~40 ms.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def run_worker(host: str, port: int, options: dict) -> None:
    if not options["access_log"]:
        # The app's logging setup (Django's LOGGING) would give the access logger a handler again,
        # and uvicorn writes the line whenever it has one.
        os.environ["WEB_ACCESS_LOG"] = "false"
    sock = listening_socket(host, port)
    server = uvicorn.Server(uvicorn.Config(APP, **options))
    server.run(sockets=[sock])


class Supervisor:
    def __init__(self, args: argparse.Namespace):
        self.args, self.options = args, uvicorn_options(args)
        self.context = multiprocessing.get_context("spawn")
        self.workers: list[multiprocessing.Process] = []
        self.started_at: dict[int, float] = {}
        self.early_exits = 0
        self.stopping = False
        self.exit_code = 0

    def start_worker(self) -> multiprocessing.Process:
        worker = self.context.Process(
            target=run_worker, args=(self.args.host, self.args.port, self.options), daemon=False
        )
        worker.start()
        self.started_at[worker.pid] = time.monotonic()
        return worker

    def replace(self, index: int) -> None:
        worker = self.workers[index]
        lived = time.monotonic() - self.started_at.pop(worker.pid, 0.0)
        self.early_exits = self.early_exits + 1 if lived < EARLY_EXIT_SECONDS else 0
        if self.early_exits >= MAX_EARLY_EXITS:
            _log(f"workers keep exiting at start-up (last: {worker.exitcode}); giving up")
            self.stopping, self.exit_code = True, 1
            return
        _log(f"worker {worker.pid} exited ({worker.exitcode}); starting another")
        self.workers[index] = self.start_worker()

    def stop(self, *_) -> None:
        self.stopping = True

    def run(self) -> int:
        # Bound here first, so a taken port fails at once and not in every worker.
        listening_socket(self.args.host, self.args.port).close()
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        self.workers = [self.start_worker() for _ in range(self.args.workers)]
        while not self.stopping:
            time.sleep(POLL_SECONDS)
            for index, worker in enumerate(self.workers):
                if not worker.is_alive() and not self.stopping:
                    self.replace(index)
        for worker in self.workers:
            if worker.is_alive():
                os.kill(worker.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for worker in self.workers:
            worker.join(max(0.1, deadline - time.monotonic()))
            if worker.is_alive():
                worker.kill()
                worker.join()
        return self.exit_code


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not hasattr(socket, "SO_REUSEPORT"):
        uvicorn.run(APP, host=args.host, port=args.port, workers=args.workers, **uvicorn_options(args))
        return 0
    return Supervisor(args).run()


if __name__ == "__main__":
    sys.exit(main())
