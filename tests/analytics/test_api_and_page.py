"""The API and the page answer the same figures; filters round-trip through the URL; every list
paginates; CSV exports; only managers and above may look."""

import csv
import io

import pytest
from django.urls import reverse

from opsplatform.analytics.services.reports import run_report_tick

pytestmark = pytest.mark.django_db

RANGE = {"from": "2026-03-02", "to": "2026-03-03"}
API = "/api/v1/analytics/incidents/"
LOAD_API = "/api/v1/analytics/oncall-load/"
FORM_IDS = {"group_by": "group"}


def test_api_incident_figures(api_as, world):
    response = api_as("manager").get(API, {**RANGE, "group_by": "severity"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["from"], body["to"], body["time_zone"], body["group_by"]) == (
        "2026-03-02",
        "2026-03-03",
        "UTC",
        "severity",
    )
    assert body["totals"]["incidents"] == 5
    assert body["totals"]["mtta_seconds"] == 555.0
    assert body["totals"]["mttr_seconds"] == 4050.0
    assert body["count"] == 4
    assert [(row["key"], row["incidents"]) for row in body["results"]] == [
        ("sev1", 2),
        ("sev2", 2),
        ("sev3", 1),
        ("sev4", 0),
    ]


def test_api_and_page_show_the_same_figures(api_as, client_as, world):
    for group_by in ("day", "service", "severity"):
        query = {**RANGE, "group_by": group_by, "team": "payments"}
        api = api_as("manager").get(API, query).json()
        page = client_as("manager").get(reverse("analytics:index"), query)

        assert page.status_code == 200
        report = page.context["report"]
        assert report["totals"] == api["totals"]
        assert report["groups"] == api["results"]
        html = page.content.decode()
        assert 'data-figure="mtta_seconds">9 min' in html  # 555 s


def test_oncall_load_api_equals_the_page(api_as, client_as, world):
    query = {"from": "2026-03-01", "to": "2026-11-30"}
    api = api_as("manager").get(LOAD_API, query).json()
    browser = client_as("manager")
    # 275 days: the page hands the range to the background report and shows its progress.
    waiting = browser.get(reverse("analytics:index"), query)
    assert waiting.status_code == 200
    job = waiting.context["job"]
    assert 'id="analytics-progress"' in waiting.content.decode()
    assert f'hx-get="/analytics/reports/{job.pk}/"' in waiting.content.decode()
    assert run_report_tick() == 1
    status = browser.get(reverse("analytics:report", args=[job.pk]), headers={"HX-Request": "true"})
    assert status["HX-Refresh"] == "true"
    page = browser.get(reverse("analytics:index"), query)

    assert page.status_code == 200
    assert api["count"] == 2
    assert api["results"] == page.context["report"]["oncall"]
    berit = next(row for row in api["results"] if row["responder"] == "berit")
    assert (berit["business"], berit["off_hours"], berit["sleep"]) == (2, 2, 2)


def test_api_lists_paginate(api_as, world):
    api = api_as("manager")
    first = api.get(API, {**RANGE, "group_by": "service", "page_size": 1}).json()

    assert first["count"] == 2 and len(first["results"]) == 1 and first["next"]
    second = api.get(first["next"]).json()
    assert [row["label"] for row in first["results"] + second["results"]] == ["Checkout", "Search"]
    past = api.get(API, {**RANGE, "page": 9})
    assert past.status_code == 400
    assert past["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2026-02-30"}, "from"),
        ({"from": "yesterday"}, "from"),
        ({"from": "2026-03-04", "to": "2026-03-01"}, "to"),
        ({"from": "1990-01-01", "to": "2026-01-01"}, "from"),
        ({"group_by": "week"}, "group_by"),
        ({"team": "nope"}, "team"),
        ({"service": "99999"}, "service"),
    ],
)
def test_bad_filters_are_a_problem_naming_the_parameter(api_as, client_as, world, query, field):
    response = api_as("manager").get(API, query)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert [error["field"] for error in response.json()["errors"]] == [field]
    page = client_as("manager").get(reverse("analytics:index"), query)
    assert page.status_code == 400
    assert f'id="f-{FORM_IDS.get(field, field)}-error"' in page.content.decode()


def test_another_organizations_team_is_unknown(api_as, world, other_team):
    response = api_as("manager").get(API, {"team": other_team.slug})

    assert response.status_code == 400


@pytest.mark.parametrize(
    ("role", "status"), [("viewer", 403), ("operator", 403), ("manager", 200), ("admin", 200), ("owner", 200)]
)
def test_who_may_look(api_as, client_as, world, role, status):
    assert api_as(role).get(API, RANGE).status_code == status
    assert api_as(role).get(LOAD_API, RANGE).status_code == status
    assert client_as(role).get(reverse("analytics:index"), RANGE).status_code == status
    assert client_as(role).get(reverse("analytics:export", args=["services"]), RANGE).status_code == status


def test_an_outsider_sees_only_their_own_organization(api_as, world):
    body = api_as("outsider").get(API, RANGE).json()

    assert body["totals"]["incidents"] == 0


def test_filters_round_trip_through_the_url(client_as, world):
    query = {**RANGE, "team": "payments", "service": "checkout", "group_by": "severity"}
    page = client_as("manager").get(reverse("analytics:index"), query)

    html = page.content.decode()
    assert 'name="from" value="2026-03-02"' in html
    assert 'name="to" value="2026-03-03"' in html
    assert '<option value="payments" selected>' in html
    assert '<option value="checkout" selected>' in html
    assert '<option value="severity" selected>' in html
    # Exports and the pages of every table carry the same filters.
    export = (
        reverse("analytics:export", args=["groups"])
        + "?from=2026-03-02&amp;to=2026-03-03&amp;team=payments&amp;service=checkout&amp;group_by=severity"
    )
    assert export in html
    assert page.context["report"]["totals"]["incidents"] == 3


def test_every_table_on_the_page_paginates(client_as, world, monkeypatch):
    from opsplatform.analytics import views

    monkeypatch.setattr(views, "PAGE_SIZE", 1)
    page = client_as("manager").get(
        reverse("analytics:index"), {**RANGE, "group_by": "service", "services_page": "2"}
    )

    tables = page.context["tables"]
    assert tables["services"]["page"].number == 2
    assert [row["label"] for row in tables["services"]["page"].object_list] == ["Search"]
    html = page.content.decode()
    assert "services_page=1" in html  # the previous link keeps the filters
    assert "group_by=service" in html


def test_csv_export(client_as, world):
    response = client_as("manager").get(reverse("analytics:export", args=["severities"]), RANGE)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:4] == ["Severity", "Incidents", "MTTA", "MTTR"]
    assert rows[1][:4] == ["SEV1", "2", "450.0", "3600.0"]
    assert rows[3][:4] == ["SEV3", "1", "", "1800.0"]


def test_every_table_exports(client_as, world):
    from opsplatform.analytics.tables import TABLES

    for key in TABLES:
        response = client_as("manager").get(
            reverse("analytics:export", args=[key]), {"from": "2026-03-01", "to": "2026-03-31"}
        )
        assert response.status_code == 200, key
        assert len(list(csv.reader(io.StringIO(response.content.decode())))) >= 1


def test_csv_neutralises_formulas(client_as, org, world):
    world["search"].name = "=HYPERLINK(1)"
    world["search"].save(update_fields=["name"])
    response = client_as("manager").get(reverse("analytics:export", args=["services"]), RANGE)

    assert "'=HYPERLINK(1)" in response.content.decode()


def test_unknown_export_table_is_404(client_as, world):
    assert client_as("manager").get("/analytics/export/secrets.csv").status_code == 404


def test_the_schema_documents_both_endpoints(api_as):
    schema = api_as("manager").get("/api/v1/schema/", {"format": "json"}).json()

    incidents = schema["paths"]["/api/v1/analytics/incidents/"]["get"]
    assert {p["name"] for p in incidents["parameters"]} >= {
        "from",
        "to",
        "team",
        "service",
        "group_by",
        "page",
    }
    assert "Requires `analytics.view`" in incidents["description"]
    assert {p["name"] for p in schema["paths"]["/api/v1/analytics/oncall-load/"]["get"]["parameters"]} >= {
        "from",
        "to",
        "team",
    }
