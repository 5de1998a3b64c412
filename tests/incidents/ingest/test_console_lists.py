"""Integration, event and maintenance lists: pagination, filters in the URL, empty states."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from incidents.ingest.services import maintenance_window_create
from incidents.models import MaintenanceWindow
from tests.incidents.factories import ServiceFactory
from tests.incidents.ingest.payloads import pd_trigger, post
from tests.ledger import entries

pytestmark = pytest.mark.django_db


def _rows(html: str, prefix: str) -> list[str]:
    return re.findall(rf'<tr id="{prefix}-(\d+)"', html)


def _next_link(html: str, path: str) -> str:
    """The "Next" link of a page at ``path`` (the links are query strings, keeping the filters)."""
    match = re.search(r'href="([^"]+)" rel="next"', html)
    return path + match.group(1).replace("&amp;", "&") if match else ""


@pytest.fixture
def other_service(org, team):
    return ServiceFactory(organization=org, name="Search", slug="search", owner_team=team)


def test_integrations_paginate_and_filter_by_kind_and_service(
    client_as, make_integration, service, other_service
):
    for index in range(28):
        make_integration("webhook", name=f"hook {index:02}")
    for index in range(3):
        make_integration("grafana", name=f"grafana {index}", service=other_service)
    operator = client_as("operator")

    first = operator.get("/integrations/").content.decode()
    assert len(_rows(first, "integration")) == 25
    second = operator.get(_next_link(first, "/integrations/")).content.decode()
    assert len(_rows(second, "integration")) == 6 and not _next_link(second, "/integrations/")
    assert set(_rows(first, "integration")).isdisjoint(_rows(second, "integration"))

    grafana = operator.get("/integrations/?kind=grafana").content.decode()
    assert len(_rows(grafana, "integration")) == 3 and "hook 00" not in grafana
    assert 'value="grafana" checked' in grafana  # the chip stays on

    by_service = operator.get(f"/integrations/?service={other_service.pk}").content.decode()
    assert len(_rows(by_service, "integration")) == 3

    # The filters ride along on the page links.
    webhooks = operator.get(f"/integrations/?kind=webhook&service={service.pk}").content.decode()
    link = _next_link(webhooks, "/integrations/")
    assert "kind=webhook" in link and f"service={service.pk}" in link and "page=2" in link
    assert len(_rows(operator.get(link).content.decode(), "integration")) == 3

    none = operator.get("/integrations/?kind=heartbeat").content.decode()
    assert "No integrations match these filters" in none


def test_another_organizations_service_filters_nothing_in(client_as, make_integration, other_org):
    make_integration("webhook", name="ours")
    foreign = ServiceFactory(organization=other_org, name="Theirs", slug="theirs")
    page = client_as("operator").get(f"/integrations/?service={foreign.pk}")
    assert page.status_code == 200 and "Theirs" not in page.content.decode()


def test_empty_integration_list_says_what_to_do(client_as):
    manager = client_as("manager").get("/integrations/").content.decode()
    assert "Connect your first alert source" in manager and 'href="/integrations/new/"' in manager
    operator = client_as("operator").get("/integrations/").content.decode()
    assert "No integrations yet" in operator and 'href="/integrations/new/"' not in operator


def test_recent_events_paginate(client_as, client, make_integration):
    integration, key = make_integration("pagerduty")
    for index in range(27):
        assert post(client, "/v2/enqueue", pd_trigger(key, dedup_key=f"k{index}")).status_code == 202
    operator = client_as("operator")
    first = operator.get(f"/integrations/{integration.pk}/events/").content.decode()
    assert first.count('<li id="payload-') == 25
    second = operator.get(_next_link(first, f"/integrations/{integration.pk}/events/")).content.decode()
    assert second.count('<li id="payload-') == 2
    assert "k26" in first and "k0&quot;" in second  # newest first


def test_empty_events_tab(client_as, make_integration):
    integration, _ = make_integration("heartbeat", heartbeat_period_seconds=300)
    page = client_as("operator").get(f"/integrations/{integration.pk}/events/").content.decode()
    assert "No pings yet" in page


def _window(actor, name, service, **values):
    return maintenance_window_create(actor=actor, name=name, service=service, time_zone="UTC", **values)


def test_maintenance_list_states_pagination_and_service_filter(client_as, actor_as, service, other_service):
    actor = actor_as("manager")
    now = timezone.now()
    _window(
        actor,
        "active",
        service,
        recurrence="once",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=1),
    )
    _window(
        actor,
        "upcoming",
        service,
        recurrence="once",
        starts_at=now + timedelta(days=1),
        ends_at=now + timedelta(days=2),
    )
    _window(
        actor,
        "ended",
        service,
        recurrence="once",
        starts_at=now - timedelta(days=2),
        ends_at=now - timedelta(days=1),
    )
    for index in range(25):
        _window(
            actor,
            f"search {index}",
            other_service,
            recurrence="weekly",
            weekdays=[0],
            start_time="02:00",
            duration_minutes=60,
        )
    operator = client_as("operator")

    first = operator.get("/maintenance/").content.decode()
    assert len(_rows(first, "window")) == 25
    second = operator.get(_next_link(first, "/maintenance/")).content.decode()
    assert len(_rows(second, "window")) == 3

    mine = operator.get(f"/maintenance/?service={service.pk}").content.decode()
    states = {
        name: re.search(rf">{name}</a>.*?</tr>", mine, re.S).group(0)
        for name in ("active", "upcoming", "ended")
    }
    assert "Active" in states["active"] and "ends" in states["active"]
    assert "Upcoming" in states["upcoming"] and "Ended" in states["ended"]
    assert "search 0" not in mine


def test_empty_maintenance_list(client_as):
    manager = client_as("manager").get("/maintenance/").content.decode()
    assert "No maintenance windows" in manager and 'href="/maintenance/new/"' in manager


def test_new_maintenance_window_page_and_dialog_errors(client_as, service):
    manager = client_as("manager")
    page = manager.get(f"/maintenance/new/?service={service.pk}")
    assert page.status_code == 200
    assert f'<option value="{service.pk}" selected>' in page.content.decode()
    created = manager.post(
        "/maintenance/new/",
        {
            "name": "Deploy",
            "service": service.pk,
            "recurrence": "once",
            "starts_at": "2030-01-01T10:00",
            "ends_at": "2030-01-01T11:00",
            "time_zone": "UTC",
            "enabled": "on",
        },
    )
    window = MaintenanceWindow.objects.get()
    assert created.status_code == 302 and created["Location"] == f"/maintenance/{window.pk}/"
    assert entries("maintenance_window.created", target=window).count() == 1

    # From the list's dialog: errors come back in the dialog, opened again.
    bad = manager.post("/maintenance/", {"name": "", "recurrence": "once", "time_zone": "Mars/Base"})
    assert bad.status_code == 400
    assert '<dialog id="new-window" class="dialog" data-open' in bad.content.decode()
    assert "not a known IANA time zone" in bad.content.decode()
    assert MaintenanceWindow.objects.count() == 1
    assert client_as("operator").get("/maintenance/new/").status_code == 403
