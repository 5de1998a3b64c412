"""The guarded outbound client (opsplatform/core/http.py): SSRF refusals at connect time, the allow-list,
DNS rebinding, timeouts."""

import socket
import threading
import time

import httpx
import pytest
from django.test import override_settings

from opsplatform.core import http
from tests.notifications.peers import http_receiver

REFUSED_BY_DEFAULT = [
    "http://127.0.0.1:9/",
    "http://127.8.9.10/",
    "http://localhost:9/",
    "http://10.0.0.1/",
    "http://10.255.1.2:8080/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]:9/",
    "http://[::ffff:127.0.0.1]:9/",
    "http://[fe80::1]/",
    "http://[fd00::1]/",
    "http://100.64.0.1/",
    "http://0.0.0.0:9/",
]


@pytest.mark.parametrize("url", REFUSED_BY_DEFAULT)
def test_refuses_non_public_destinations(url):
    with pytest.raises(http.OutboundRefused):
        http.get(url)


def test_refusal_is_a_connect_error_and_names_the_setting():
    with pytest.raises(httpx.ConnectError, match="OUTBOUND_ALLOWED_NETWORKS"):
        http.post("http://10.0.0.1/hook", json={})


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "169.254.169.254",
        "::1",
        "::ffff:10.0.0.1",
        "2002:7f00:1::1",
        "64:ff9b::a00:1",
    ],
)
def test_embedded_and_plain_private_addresses_are_refused(address):
    assert http.is_refused_address(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_pass(address):
    assert not http.is_refused_address(address)


def test_allow_list_lets_loopback_through():
    with http_receiver() as peer, override_settings(OUTBOUND_ALLOWED_NETWORKS=["127.0.0.0/8"]):
        response = http.post(peer.url(), content=b"hello")
        assert response.status_code == 200
        assert peer.requests[0].body == b"hello"
    # The setting is read per request: without it the same peer is refused again.
    with http_receiver() as peer, pytest.raises(http.OutboundRefused):
        http.post(peer.url(), content=b"hello")


def test_allow_list_is_exact_about_networks():
    with override_settings(OUTBOUND_ALLOWED_NETWORKS=["10.20.0.0/16"]):
        assert not http.is_refused_address("10.20.3.4")
        assert http.is_refused_address("10.21.3.4")
        assert http.is_refused_address("127.0.0.1")


def test_a_name_with_any_private_address_is_refused(monkeypatch):
    monkeypatch.setattr(
        http,
        "_resolve",
        lambda host, port: [(socket.AF_INET, ("93.184.215.14", port)), (socket.AF_INET, ("10.0.0.5", port))],
    )
    with pytest.raises(http.OutboundRefused):
        http.get("http://mixed.example.test/")


def test_connects_to_the_address_it_vetted(monkeypatch):
    """DNS rebinding: the name is resolved once, and the socket goes to that vetted address.

    The name below does not exist in real DNS; the request still reaches the loopback peer, so the
    connection used the address the guard resolved and checked, not a second lookup.
    """
    calls = []

    def resolve(host, port):
        calls.append(host)
        return [(socket.AF_INET, ("127.0.0.1", port))]

    monkeypatch.setattr(http, "_resolve", resolve)
    with http_receiver() as peer, override_settings(OUTBOUND_ALLOWED_NETWORKS=["127.0.0.1/32"]):
        with http.client() as client:
            response = client.post(f"http://rebind.example.test:{peer.port}/x", content=b"{}")
        assert response.status_code == 200
        assert peer.requests[0].headers["host"] == f"rebind.example.test:{peer.port}"
    assert calls == ["rebind.example.test"]


def test_a_second_answer_cannot_rebind_an_open_check(monkeypatch):
    """First answer allowed (passes), second answer private: the second is never used for
    connecting, because resolution happens exactly once, inside the connect. A second lookup would
    draw the private answer and be refused."""
    with http_receiver() as peer:
        answers = iter([[(socket.AF_INET, ("127.0.0.1", peer.port))], [(socket.AF_INET, ("10.0.0.7", 80))]])
        monkeypatch.setattr(http, "_resolve", lambda host, port: next(answers))
        with override_settings(OUTBOUND_ALLOWED_NETWORKS=["127.0.0.1/32"]), http.client() as client:
            assert client.post(f"http://rebind.example.test:{peer.port}/", content=b"{}").status_code == 200
        assert len(peer.requests) == 1
    # The private answer was never drawn: the name was looked up once.
    assert next(answers) == [(socket.AF_INET, ("10.0.0.7", 80))]


def test_read_timeout(monkeypatch):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    accepted = []

    def accept_and_stall():
        connection, _ = server.accept()
        accepted.append(connection)  # never answers

    threading.Thread(target=accept_and_stall, daemon=True).start()
    with override_settings(OUTBOUND_ALLOWED_NETWORKS=["127.0.0.1/32"], OUTBOUND_READ_TIMEOUT=0.3):
        start = time.monotonic()
        with http.client() as client, pytest.raises(httpx.ReadTimeout):
            client.get(f"http://127.0.0.1:{server.getsockname()[1]}/")
        assert time.monotonic() - start < 3
    server.close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/x", "Only http"),
        ("https://user:pw@example.com/x", "Credentials"),
        ("https:///nohost", "host"),
        ("http://169.254.169.254/", "not a public address"),
        ("not a url", "http"),
    ],
)
def test_vet_url_rejects_bad_shapes(url, message):
    with pytest.raises(ValueError, match=message):
        http.vet_url(url)


def test_redirects_are_not_followed():
    with http_receiver() as peer, override_settings(OUTBOUND_ALLOWED_NETWORKS=["127.0.0.0/8"]):
        peer.respond_with(302)
        response = http.post(peer.url(), content=b"")
        assert response.status_code == 302
        assert len(peer.requests) == 1
