"""Big ranges: a background report with progress, claimed once, reused while fresh."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from opsplatform.analytics.models import Report, ReportStatus
from opsplatform.analytics.services.reports import LEASE, run_report_tick

pytestmark = pytest.mark.django_db
LONG = {"from": "2026-01-01", "to": "2026-06-30"}


def test_a_long_range_becomes_a_background_report(client_as, org, world):
    browser = client_as("manager")
    first = browser.get(reverse("analytics:index"), LONG)

    report = Report.objects.get(organization=org)
    assert first.context["job"] == report
    assert (report.status, report.progress, report.params["from"]) == (ReportStatus.PENDING, 0, "2026-01-01")
    assert "report" not in first.context
    # Asking again while it waits does not queue a second one.
    browser.get(reverse("analytics:index"), LONG)
    assert Report.objects.filter(organization=org).count() == 1

    assert run_report_tick() == 1
    report.refresh_from_db()
    assert (report.status, report.progress) == (ReportStatus.DONE, 100)
    assert report.result["totals"]["incidents"] == 5
    assert run_report_tick() == 0  # nothing left to claim

    page = browser.get(reverse("analytics:index"), LONG)
    assert page.context["report"]["totals"]["mtta_seconds"] == 555.0
    export = browser.get(reverse("analytics:export", args=["groups"]), LONG)
    assert export.status_code == 200
    assert len(export.content.decode().splitlines()) == 1 + 181  # every day of the range


def test_progress_fragment_while_running(client_as, org, world):
    browser = client_as("manager")
    browser.get(reverse("analytics:index"), LONG)
    report = Report.objects.get(organization=org)
    Report.objects.filter(pk=report.pk).update(
        status=ReportStatus.RUNNING, progress=40, started_at=timezone.now()
    )

    fragment = browser.get(reverse("analytics:report", args=[report.pk]), headers={"HX-Request": "true"})

    assert fragment.status_code == 200
    assert "40% done" in fragment.content.decode()
    assert 'hx-trigger="every 1s"' in fragment.content.decode()
    assert "HX-Refresh" not in fragment


def test_a_report_whose_worker_died_is_taken_over(client_as, org, world):
    client_as("manager").get(reverse("analytics:index"), LONG)
    report = Report.objects.get(organization=org)
    Report.objects.filter(pk=report.pk).update(
        status=ReportStatus.RUNNING, started_at=timezone.now() - LEASE - timedelta(seconds=1)
    )

    assert run_report_tick() == 1
    report.refresh_from_db()
    assert report.status == ReportStatus.DONE


def test_another_organizations_report_is_404(client_as, org, world, other_org):
    report = Report.objects.create(organization=other_org, key="x", params={})

    assert client_as("manager").get(reverse("analytics:report", args=[report.pk])).status_code == 404


def test_an_export_of_a_long_range_waits_for_its_report(client_as, org, world):
    response = client_as("manager").get(reverse("analytics:export", args=["services"]), LONG)

    assert response.status_code == 302
    assert Report.objects.filter(organization=org, status=ReportStatus.PENDING).count() == 1
