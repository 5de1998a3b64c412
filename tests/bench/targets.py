"""Loopback probe targets for the monitoring benchmark, in a process of their own:

    python -m tests.bench.targets

An asyncio HTTP/1.1 server that answers every path with 200 after a delay drawn from the path (5 to
45 ms, so each monitor keeps its own latency), and a TCP server that accepts and closes. Prints
``<http port> <tcp port>`` on one line once both listen, then serves until killed; at exit (SIGTERM)
prints how many requests and connections it served.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import zlib

BODY = b'{"status": "ok"}'
counts = {"http": 0, "tcp": 0}


def delay_for(path: bytes) -> float:
    return 0.005 + (zlib.crc32(path) % 41) / 1000


async def http_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1] if head.count(b" ") >= 2 else b"/"
            await asyncio.sleep(delay_for(path))
            counts["http"] += 1
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(BODY), BODY)
            )
            await writer.drain()
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        pass
    finally:
        writer.close()


async def tcp_client(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    counts["tcp"] += 1
    writer.close()


async def main() -> None:
    http_server = await asyncio.start_server(http_client, "127.0.0.1", 0, backlog=1024)
    tcp_server = await asyncio.start_server(tcp_client, "127.0.0.1", 0, backlog=1024)
    ports = (http_server.sockets[0].getsockname()[1], tcp_server.sockets[0].getsockname()[1])
    print(*ports, flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    print(f"served {counts['http']} http {counts['tcp']} tcp", flush=True)
    sys.exit(0)


if __name__ == "__main__":
    asyncio.run(main())
