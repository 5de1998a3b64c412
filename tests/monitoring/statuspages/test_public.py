"""The public side, read anonymously: the HTML page, summary.json, the Atom feed, caching, tenancy,
and that nothing internal leaks."""

import json
import xml.etree.ElementTree as ET

import pytest
from django.test import Client

from incidents.services import incident_add_note, incident_create
from monitoring.statuspages import services
from tests.monitoring.statuspages.conftest import set_state

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def anonymous():
    return Client()


@pytest.fixture
def incident_notice(page, components, actor_as, service):
    operator = actor_as("operator")
    internal = incident_create(
        actor=operator, title="INTERNAL db-7 pool exhausted by batch job", service=service, severity="sev2"
    )
    incident_add_note(actor=operator, incident=internal, body="SECRET NOTE: rotate the leaked key")
    return services.notice_open(
        actor=operator,
        page=page,
        title="Checkout is slow",
        body="Some payments take longer than usual.",
        component_status="degraded_performance",
        components=[components[2]],
        incident=internal,
    )


def test_the_page_shows_components_and_states_without_login(anonymous, page, components, monitors):
    set_state(monitors[0], "down")
    response = anonymous.get("/status/acme/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "Acme status" in text
    for name in ("API", "Website", "Checkout", "Platform"):
        assert name in text
    assert 'data-status="major_outage"' in text and "Major outage" in text
    assert "Partial System Outage" not in text and "Major System Outage" in text
    assert response["Cache-Control"] == "public, max-age=30" or set(
        response["Cache-Control"].split(", ")
    ) == {
        "public",
        "max-age=30",
    }
    assert not response.cookies  # no session, no CSRF cookie: every reader gets the same bytes
    assert text.count('class="bar ') == 90 * 2  # API and Website have monitors; Checkout has none


def test_unpublished_and_unknown_pages_are_404(anonymous, page, actor_as):
    services.page_update(actor=actor_as("manager"), page=page, published=False)
    assert anonymous.get("/status/acme/").status_code == 404
    assert anonymous.get("/status/acme/summary.json").status_code == 404
    assert anonymous.get("/status/nope/").status_code == 404


def test_internal_incident_data_never_leaks(anonymous, incident_notice):
    for path in ("/status/acme/", "/status/acme/summary.json", "/status/acme/feed.atom"):
        body = anonymous.get(path).content.decode()
        assert "Checkout is slow" in body, path
        assert "INTERNAL" not in body and "SECRET" not in body and "db-7" not in body, path


def test_summary_json_has_the_statuspage_shape(anonymous, incident_notice, monitors):
    set_state(monitors[1], "degraded")
    response = anonymous.get("/status/acme/summary.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert set(body) == {"page", "status", "components", "incidents", "scheduled_maintenances"}
    assert body["page"]["id"] == "acme" and body["page"]["url"].endswith("/status/acme/")
    assert body["status"] == {"indicator": "major", "description": "Partial System Outage"}
    by_name = {c["name"]: c for c in body["components"]}
    assert by_name["Platform"]["group"] is True
    assert sorted(by_name["Platform"]["components"]) == sorted(
        [str(by_name["API"]["id"]), str(by_name["Checkout"]["id"])]
    )
    assert by_name["API"]["group_id"] == by_name["Platform"]["id"]
    assert by_name["Website"]["status"] == "degraded_performance"
    # The internal incident is sev2 (partial outage) on the Checkout service: worst of it and the notice.
    assert by_name["Checkout"]["status"] == "partial_outage"
    assert by_name["Platform"]["status"] == "partial_outage"
    [incident] = body["incidents"]
    assert incident["name"] == "Checkout is slow" and incident["status"] == "investigating"
    assert incident["incident_updates"][0]["body"] == "Some payments take longer than usual."
    assert incident["components"] == [{"id": str(by_name["Checkout"]["id"]), "name": "Checkout"}]
    assert "incident" not in json.dumps(incident["incident_updates"]).lower().replace("incident_updates", "")


def test_the_atom_feed_is_valid_atom(anonymous, incident_notice, actor_as):
    services.notice_update(
        actor=actor_as("operator"), notice=incident_notice, status="monitoring", body="A fix is out."
    )
    response = anonymous.get("/status/acme/feed.atom")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)  # noqa: S314 - our own server's answer, parsed to check it
    assert root.tag == f"{ATOM}feed"
    assert root.find(f"{ATOM}title").text == "Acme status"
    assert root.find(f"{ATOM}id").text and root.find(f"{ATOM}updated").text
    [entry] = root.findall(f"{ATOM}entry")
    for child in ("id", "title", "updated", "link"):
        assert entry.find(f"{ATOM}{child}") is not None, child
    assert entry.find(f"{ATOM}title").text == "Checkout is slow (Monitoring)"
    summary = entry.find(f"{ATOM}summary").text
    assert "A fix is out." in summary and "Some payments take longer" in summary


def test_readers_share_a_cached_snapshot_until_an_operator_changes_something(
    anonymous,
    page,
    components,
    monitors,
    actor_as,
    settings,
    django_assert_max_num_queries,
    django_capture_on_commit_callbacks,
):
    settings.STATUS_PAGE_CACHE_SECONDS = 60
    assert "Major outage" not in anonymous.get("/status/acme/").content.decode()
    set_state(monitors[0], "down")  # a monitor's change shows when the cache runs out
    with django_assert_max_num_queries(1):  # the page row only
        assert "Major outage" not in anonymous.get("/status/acme/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        services.notice_open(actor=actor_as("operator"), page=page, title="Investigating", body="Looking.")
    assert "Major outage" in anonymous.get("/status/acme/").content.decode()


def test_a_custom_domain_serves_the_page_at_its_root(
    anonymous, page, components, actor_as, settings, django_capture_on_commit_callbacks
):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "status.acme.test"]
    anonymous.get("/", HTTP_HOST="status.acme.test")  # the domain map is cached before the change…
    with django_capture_on_commit_callbacks(execute=True):  # …and dropped by it
        services.page_update(actor=actor_as("manager"), page=page, custom_domain="status.acme.test")
    response = anonymous.get("/", HTTP_HOST="status.acme.test")
    assert response.status_code == 200
    assert "Acme status" in response.content.decode() and "Checkout" in response.content.decode()
    assert "Acme status" not in anonymous.get("/", HTTP_HOST="127.0.0.1").content.decode()
