"""``python -m opsplatform.devtools.serve``: worker processes that each listen on a socket of their own."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from opsplatform.devtools.serve import listening_socket, parse_args
from tests.servers import BASE_DIR, asgi_server, free_port, stop


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _tcp_sockets(port: int, state: str) -> set[int]:
    """Inodes of the IPv4 sockets on local ``port`` in ``state`` (0A listening, 01 established)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == state:
            inodes.add(int(fields[9]))
    return inodes


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:  # the process exited since it was listed (the killed worker, say)
        return inodes
    for fd in fds:
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def _workers(server) -> set[int]:
    """The server's worker processes: its children holding a listening socket on its port (the
    others are multiprocessing's helpers)."""
    listening = _tcp_sockets(server.port, "0A")
    return {pid for pid in _children(server.process.pid) if _socket_inodes(pid) & listening}


def _wait_for(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.django_db(transaction=True)
def test_each_worker_listens_on_its_own_socket_and_gets_connections():
    with asgi_server(workers=2) as server:
        assert _wait_for(lambda: len(_tcp_sockets(server.port, "0A")) == 2)
        workers = _workers(server)
        assert len(workers) == 2
        clients = [httpx.Client(base_url=server.url, timeout=10) for _ in range(32)]
        try:
            assert {client.get("/healthz").status_code for client in clients} == {200}
            established = _tcp_sockets(server.port, "01")
            served = {pid: len(_socket_inodes(pid) & established) for pid in workers}
        finally:
            for client in clients:
                client.close()
        # 32 connections spread by their address hash: each worker has some (all on one: p = 2⁻³¹).
        assert sum(served.values()) == 32 and min(served.values()) > 0, served


@pytest.mark.django_db(transaction=True)
def test_a_dead_worker_is_replaced_and_sigterm_stops_them_all():
    with asgi_server(workers=2) as server:
        assert _wait_for(lambda: len(_workers(server)) == 2)
        victim = min(_workers(server))
        os.kill(victim, signal.SIGKILL)
        assert _wait_for(lambda: len(_workers(server) - {victim}) == 2)
        assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200
        workers = _children(server.process.pid)  # the helpers too: nothing may be left behind
        assert stop(server) == 0
    assert _wait_for(lambda: not any(_running(pid) for pid in workers), timeout=10)
    assert not _tcp_sockets(server.port, "0A")


def test_accepted_connections_turn_nagle_off():
    """Asyncio sets TCP_NODELAY only on sockets that say they are TCP; without it each response
    waits for the client's delayed ACK (~40 ms)."""

    async def main():
        sock = listening_socket("127.0.0.1", free_port())
        accepted = asyncio.get_running_loop().create_future()

        async def on_connect(reader, writer):
            accepted.set_result(
                writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            )
            writer.close()

        server = await asyncio.start_server(on_connect, sock=sock)
        async with server:
            _, writer = await asyncio.open_connection(*sock.getsockname())
            nodelay = await asyncio.wait_for(accepted, 5)
            writer.close()
        return nodelay

    assert asyncio.run(main()) != 0


def test_workers_that_cannot_start_make_it_give_up():
    """A crash loop (here: settings that do not exist) ends with a non-zero exit, not forever."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "opsplatform.no_such_settings"}
    argv = [
        sys.executable,
        "-m",
        "opsplatform.devtools.serve",
        "--port",
        str(free_port()),
        "--log-level",
        "critical",
    ]
    finished = subprocess.run(
        argv, check=False, cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )
    assert finished.returncode == 1
    assert "keep exiting at start-up" in finished.stderr


def test_options_are_checked():
    assert parse_args(["--workers", "3", "--port", "9000"]).workers == 3
    with pytest.raises(SystemExit):
        parse_args(["--workers", "0"])
