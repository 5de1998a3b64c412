"""THE outbound HTTP client: every request the platform makes to a URL someone typed in goes through here.

Two guarantees, both applied where the socket is opened rather than where the URL is parsed:

* **Timeouts** on connect, read, write and pool acquisition (``OUTBOUND_CONNECT_TIMEOUT`` /
  ``OUTBOUND_READ_TIMEOUT``): a slow receiver cannot hold a worker forever.
* **An SSRF guard.** The host name is resolved once, every address it resolves to is vetted, and the
  socket connects to the vetted address itself, so a DNS answer that changes between the check and
  the connect (DNS rebinding) cannot slip a private address through. Refused unless
  ``OUTBOUND_ALLOWED_NETWORKS`` lists them: loopback (127.0.0.0/8, ::1), private (10/8, 172.16/12,
  192.168/16, fc00::/7), link-local including cloud metadata (169.254.0.0/16, fe80::/10),
  carrier-grade NAT, multicast, reserved and unspecified addresses, and IPv4 addresses smuggled
  inside IPv6 (``::ffff:127.0.0.1``, 6to4, NAT64).

TLS still verifies the certificate against the host name (httpcore starts TLS with the original
name as SNI on the socket this module opened). Proxies from the environment are ignored: a proxy
would do the connecting, and the guard would vet the proxy instead of the target. Redirects are
not followed; a caller that wants them follows them itself and each hop is vetted again.

Usage::

    from opsplatform.core import http

    response = http.post(url, json=payload, headers=headers)   # a shared, pooled client
    with http.client() as c: ...                               # or a client of one's own
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Iterable

import httpcore
import httpx
from django.conf import settings

__all__ = [
    "OutboundRefused",
    "client",
    "get",
    "is_refused_address",
    "post",
    "request",
    "shared_client",
    "vet_url",
]

USER_AGENT = "OpsPlatform/1 (+outbound)"
ALLOWED_SCHEMES = ("http", "https")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# httpx logs every request's full URL at INFO; a Slack or Teams webhook URL *is* its credential.
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.WARNING)

# NAT64 (RFC 6052) embeds an IPv4 address in the last 32 bits.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class OutboundRefused(httpx.ConnectError):
    """The destination resolves to an address the SSRF guard refuses (never retried: it is policy)."""


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


@functools.lru_cache(maxsize=8)
def _parse_networks(raw: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in raw if cidr.strip())


def allowed_networks() -> tuple[IPNetwork, ...]:
    # Read on every call (cached by value) so a deployment's or a test's setting applies at once.
    return _parse_networks(tuple(getattr(settings, "OUTBOUND_ALLOWED_NETWORKS", ()) or ()))


def is_refused_address(address: IPAddress | str, allowed: Iterable[IPNetwork] | None = None) -> bool:
    """True when connecting to ``address`` is refused by policy."""
    address = ipaddress.ip_address(address) if isinstance(address, str) else address
    allowed = tuple(allowed_networks() if allowed is None else allowed)
    candidates = [address]
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        candidates.append(embedded)
    if any(a.version == net.version and a in net for a in candidates for net in allowed):
        return False
    return any(not a.is_global or a.is_multicast or a.is_reserved for a in candidates)


def _resolve(host: str, port: int) -> list[tuple[int, tuple]]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise httpx.ConnectError(f"cannot resolve {host}: {exc.strerror or exc}") from exc
    seen, result = set(), []
    for family, _type, _proto, _canon, sockaddr in infos:
        key = (family, sockaddr[0])
        if key not in seen:
            seen.add(key)
            result.append((family, sockaddr))
    return result


def vetted_addresses(host: str, port: int) -> list[tuple[int, tuple]]:
    """The (family, sockaddr) pairs ``host`` resolves to, or OutboundRefused if any one is refused.

    One refused address refuses the host: a name that answers both a public and a private address
    is exactly what a rebinding attacker publishes.
    """
    host = host.strip("[]")
    addresses = _resolve(host, port)
    if not addresses:
        raise httpx.ConnectError(f"{host} resolves to no address")
    allowed = allowed_networks()
    for _family, sockaddr in addresses:
        # Strip an IPv6 zone ("fe80::1%eth0"): the zone does not change what the address is.
        if is_refused_address(ipaddress.ip_address(sockaddr[0].split("%", 1)[0]), allowed):
            raise OutboundRefused(
                f"refusing to connect to {host}: it resolves to {sockaddr[0]}, a non-public address "
                "(allow it with OUTBOUND_ALLOWED_NETWORKS)"
            )
    return addresses


# The deadline of the request this thread is making (monotonic seconds), read by every socket
# operation of that request: httpx's timeouts apply per read, so without it a peer that drips a byte
# every few seconds would hold the request (and the worker thread) forever.
_deadline = threading.local()


def _bounded(timeout: float | None, expired: type[Exception]) -> float | None:
    until = getattr(_deadline, "until", None)
    if until is None:
        return timeout
    remaining = until - time.monotonic()
    if remaining <= 0:
        raise expired("the request's total deadline passed")
    return remaining if timeout is None else min(timeout, remaining)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write ends by the current request's deadline."""

    def __init__(self, stream: httpcore.NetworkStream):
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        timeout = _bounded(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str):
        return self._stream.get_extra_info(info)


class _Refused(httpcore.ConnectError):
    """httpcore's form of a refusal; httpx re-raises it as ConnectError, the transport as OutboundRefused."""


class GuardedNetworkBackend(httpcore.SyncBackend):
    """httpcore's socket backend, connecting only to addresses vetted at this very moment.

    It hands the vetted IP literal (never the name) to the stock backend, so no second DNS lookup
    happens between check and connect. TLS is started afterwards by httpcore with the original host
    name for SNI and certificate verification.
    """

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        host_text = host.decode("ascii") if isinstance(host, bytes) else host
        try:
            addresses = vetted_addresses(host_text, port)
        except OutboundRefused as exc:
            raise _Refused(str(exc)) from exc
        except httpx.ConnectError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        last_error: Exception | None = None
        for _family, sockaddr in addresses:
            try:
                stream = super().connect_tcp(
                    sockaddr[0],
                    port,
                    timeout=_bounded(timeout, httpcore.ConnectTimeout),
                    local_address=local_address,
                    socket_options=socket_options,
                )
                return _DeadlineStream(stream)
            except httpcore.ConnectTimeout:
                raise
            except httpcore.ConnectError as exc:
                last_error = exc  # try the name's next address, as socket.create_connection would
        raise httpcore.ConnectError(f"connecting to {host_text}: {last_error}")


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport with the connection pool built on :class:`GuardedNetworkBackend`."""

    def __init__(self, *, limits: httpx.Limits, verify=True):
        # trust_env=False: no proxy from the environment (see the module docstring).
        super().__init__(verify=verify, limits=limits, trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedNetworkBackend(),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return super().handle_request(request)
        except httpx.ConnectError as exc:
            # Keep the policy refusal recognizable (and non-retryable) after httpx re-wrapped it.
            if isinstance(exc.__cause__, _Refused):
                raise OutboundRefused(str(exc), request=request) from exc
            raise


def vet_url(url: str, *, refuse_literal: bool = True) -> httpx.URL:
    """Check a URL's shape before it is stored or requested: http(s), a host, no credentials.

    Addresses are not checked here (the name may resolve differently later); the guard does that at
    connect time. A literal address that is refused outright is reported now, for a clear form error.
    """
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise ValueError("Not a valid URL.") from exc
    if parsed.scheme not in ALLOWED_SCHEMES:
        raise ValueError("Only http:// and https:// URLs are allowed.")
    if not parsed.host:
        raise ValueError("The URL needs a host name.")
    if parsed.userinfo:
        raise ValueError("Credentials in the URL are not allowed; use the channel's secret fields.")
    try:
        literal = ipaddress.ip_address(parsed.host.strip("[]"))
    except ValueError:
        literal = None
    if refuse_literal and literal is not None and is_refused_address(literal):
        raise ValueError(f"{literal} is not a public address.")
    return parsed


def timeouts() -> httpx.Timeout:
    connect = settings.OUTBOUND_CONNECT_TIMEOUT
    read = settings.OUTBOUND_READ_TIMEOUT
    return httpx.Timeout(connect=connect, read=read, write=read, pool=connect)


def client(*, max_connections: int = 20, **kwargs) -> httpx.Client:
    """A new guarded client (close it, or use it as a context manager)."""
    # No client-side keep-alive expiry. httpcore's pool (1.0.9) can close an idle connection that has
    # just expired after it handed that connection to a waiting request: the request is written, and
    # its answer is read from a closed socket ("Bad file descriptor"). The page had arrived, but it
    # counts as failed and goes again (seen in the storm benchmark: one page in ~6,000 twice; made
    # to happen at will with a very short expiry). A connection the receiver closed is still
    # noticed and dropped when idle, and the pool holds at most ``max_connections``.
    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections, keepalive_expiry=None
    )
    headers = {"User-Agent": USER_AGENT, **kwargs.pop("headers", {})}
    return httpx.Client(
        transport=GuardedTransport(limits=limits),
        timeout=kwargs.pop("timeout", None) or timeouts(),
        follow_redirects=False,
        trust_env=False,
        headers=headers,
        **kwargs,
    )


_shared: httpx.Client | None = None
_shared_lock = threading.Lock()


def shared_client() -> httpx.Client:
    """One pooled client per process (thread-safe), so repeated deliveries reuse connections."""
    global _shared  # noqa: PLW0603 - a lazily built per-process singleton
    if _shared is None:
        with _shared_lock:
            if _shared is None:
                _shared = client(max_connections=64)
    return _shared


def request(method: str, url: str, **kwargs) -> httpx.Response:
    """A request through the shared client; addresses are vetted when it connects (OutboundRefused).

    The whole exchange ends within ``OUTBOUND_TOTAL_TIMEOUT`` seconds (``httpx.TimeoutException``
    otherwise), and at most ``OUTBOUND_MAX_RESPONSE_BYTES`` of the body are read: the answer to a
    delivery is its status, and a huge or endless body must not hold the worker.
    """
    vet_url(url, refuse_literal=False)
    _deadline.until = time.monotonic() + settings.OUTBOUND_TOTAL_TIMEOUT
    try:
        with shared_client().stream(method, url, **kwargs) as response:
            body = _read_capped(response, settings.OUTBOUND_MAX_RESPONSE_BYTES)
    finally:
        _deadline.until = None
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() != "content-encoding"]
    return httpx.Response(
        response.status_code, headers=headers, content=body, request=response.request, extensions={}
    )


def _read_capped(response: httpx.Response, limit: int) -> bytes:
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) >= limit:
            break  # leaving the stream closes the connection instead of draining the rest
    return bytes(body[:limit])


def get(url: str, **kwargs) -> httpx.Response:
    return request("GET", url, **kwargs)


def post(url: str, **kwargs) -> httpx.Response:
    return request("POST", url, **kwargs)
