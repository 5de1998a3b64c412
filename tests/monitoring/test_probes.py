"""Each probe kind and assertion against real loopback peers."""

import asyncio
import json

import pytest

from monitoring import probes
from monitoring.models import Outcome
from monitoring.probes.base import ProbeSpec
from tests.monitoring.peers import closed_port, dns_peer, http_peer, self_signed_tls, tcp_listener


def run(kind, target, timeout=2.0, degraded_latency_ms=None, **assertions):
    spec = ProbeSpec(
        monitor_id=0,
        kind=kind,
        target=target,
        timeout=timeout,
        assertions=assertions,
        degraded_latency_ms=degraded_latency_ms,
    )
    return asyncio.run(probes.run(spec))


@pytest.fixture
def web():
    with http_peer() as peer:
        peer.route("/ok", body=b"all systems go")
        peer.route("/json", body=json.dumps({"data": {"items": [{"status": "green"}]}}).encode())
        peer.route("/error", status=503, body=b"down for maintenance")
        peer.route("/slow", body=b"ok", delay=0.3)
        yield peer


def test_http_up_and_the_request_reaches_the_peer(web):
    result = run("http", web.url + "/ok", method="POST", body="hello", headers={"X-Check": "1"})

    assert result.outcome == Outcome.UP, result.message
    assert result.latency_ms > 0
    assert web.hits == [("POST", "/ok", b"hello")]


@pytest.mark.parametrize(
    ("path", "assertions", "outcome", "message"),
    [
        ("/error", {}, Outcome.DOWN, "status 503"),
        ("/error", {"expected_status": [503]}, Outcome.UP, "status 503"),
        ("/ok", {"expected_status": [201, 204]}, Outcome.DOWN, "expected 201, 204"),
        ("/ok", {"body_contains": "systems go"}, Outcome.UP, "status 200"),
        ("/ok", {"body_contains": "on fire"}, Outcome.DOWN, "does not contain"),
        ("/ok", {"body_regex": r"all \w+ go"}, Outcome.UP, "status 200"),
        ("/ok", {"body_regex": r"^nope"}, Outcome.DOWN, "does not match"),
        ("/json", {"json_path": "data.items.0.status", "json_equals": "green"}, Outcome.UP, "status 200"),
        (
            "/json",
            {"json_path": "data.items.0.status", "json_equals": "red"},
            Outcome.DOWN,
            "'green', expected 'red'",
        ),
        ("/json", {"json_path": "data.missing"}, Outcome.DOWN, "data.missing is missing"),
        ("/ok", {"json_path": "data"}, Outcome.DOWN, "not JSON"),
    ],
)
def test_http_assertions(web, path, assertions, outcome, message):
    result = run("http", web.url + path, **assertions)

    assert result.outcome == outcome
    assert message in result.message


def test_http_slower_than_the_threshold_is_degraded(web):
    result = run("http", web.url + "/slow", degraded_latency_ms=100)

    assert result.outcome == Outcome.DEGRADED
    assert result.latency_ms >= 300
    assert "slow" in result.message


def test_http_timeout_is_down(web):
    result = run("http", web.url + "/slow", timeout=0.1)

    assert result.outcome == Outcome.DOWN
    assert "timed out" in result.message


def test_http_redirects_followed_or_not(web):
    web.route("/moved", status=302, headers={"Location": "/ok"})

    assert run("http", web.url + "/moved").outcome == Outcome.UP
    assert [h[1] for h in web.hits] == ["/moved", "/ok"]
    # Not following: the 302 itself is judged (a 3xx is fine by default; an expected 200 is not).
    assert (
        run("http", web.url + "/moved", follow_redirects=False, expected_status=[200]).outcome == Outcome.DOWN
    )


def test_http_redirect_into_a_refused_address_is_refused(web, settings):
    # Only this peer's address is allowed; the redirect points at another loopback address.
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    port = web.url.rsplit(":", 1)[1]
    web.route("/escape", status=302, headers={"Location": f"http://127.0.0.2:{port}/ok"})

    result = run("http", web.url + "/escape")

    assert result.outcome == Outcome.DOWN
    assert result.message.startswith("refused")
    assert [h[1] for h in web.hits] == ["/escape"]  # the refused hop never reached any server


def test_http_to_a_refused_address_is_refused_without_contact(web, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = []

    result = run("http", web.url + "/ok")

    assert result.outcome == Outcome.DOWN
    assert "refused" in result.message
    assert web.hits == []


def test_tls_certificate_near_expiry_is_degraded(tmp_path):
    with http_peer(self_signed_tls(tmp_path, days_valid=5)) as peer:
        peer.route("/ok", body=b"fine")
        near = run("http", peer.url + "/ok", tls_verify=False, tls_expiry_days=14)
        far_enough = run("http", peer.url + "/ok", tls_verify=False, tls_expiry_days=3)
        verified = run("http", peer.url + "/ok")

    assert near.outcome == Outcome.DEGRADED
    assert "expires in 4." in near.message or "expires in 5.0" in near.message
    assert far_enough.outcome == Outcome.UP
    # Verification on (the default): a self-signed certificate fails the check.
    assert verified.outcome == Outcome.DOWN
    assert "CERTIFICATE_VERIFY_FAILED" in verified.message


def test_tcp_connect_up_and_down():
    with tcp_listener() as port:
        up = run("tcp", f"127.0.0.1:{port}")
    down = run("tcp", f"127.0.0.1:{closed_port()}")

    assert up.outcome == Outcome.UP, up.message
    assert down.outcome == Outcome.DOWN
    assert "connection failed" in down.message


def test_tcp_to_a_refused_address(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    with tcp_listener() as port:
        result = run("tcp", f"127.0.0.1:{port}")

    assert result.outcome == Outcome.DOWN
    assert result.message.startswith("refused")


def test_dns_answers_and_expectations():
    with dns_peer({"api.example.test": "203.0.113.7"}) as (resolver, port):
        ns = {"nameserver": "127.0.0.1", "port": port}
        plain = run("dns", "api.example.test", **ns)
        expected = run("dns", "api.example.test", expected="203.0.113.7", **ns)
        wrong = run("dns", "api.example.test", expected=["203.0.113.8"], **ns)
        missing = run("dns", "nothing.example.test", **ns)

    assert plain.outcome == Outcome.UP
    assert plain.message == "203.0.113.7"
    assert expected.outcome == Outcome.UP
    assert wrong.outcome == Outcome.DOWN
    assert "expected 203.0.113.8; got 203.0.113.7" in wrong.message
    assert missing.outcome == Outcome.DOWN
    assert "no such domain" in missing.message
    assert resolver.queries.count("api.example.test") == 3


def test_dns_nameserver_outside_the_allow_list_is_refused(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    with dns_peer({"api.example.test": "203.0.113.7"}) as (resolver, port):
        result = run("dns", "api.example.test", nameserver="127.0.0.1", port=port)

    assert result.outcome == Outcome.DOWN
    assert result.message.startswith("refused")
    assert resolver.queries == []


def test_ping_loopback_is_up_or_plainly_not_permitted():
    result = run("ping", "127.0.0.1")

    # Which one depends on net.ipv4.ping_group_range of this machine; a crash or "down" is neither.
    assert result.outcome in (Outcome.UP, Outcome.NOT_PERMITTED), result.message
    if result.outcome == Outcome.NOT_PERMITTED:
        assert "not permitted" in result.message
    else:
        assert result.latency_ms is not None
