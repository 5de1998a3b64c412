from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from monitoring.statuspages.models import StatusComponent, StatusNotice, StatusPage


@pytest.mark.django_db
def test_seed_demo_publishes_a_status_page_per_organization_with_history():
    call_command("seed_demo", stdout=StringIO())
    first = (StatusPage.objects.count(), StatusComponent.objects.count(), StatusNotice.objects.count())
    call_command("seed_demo", stdout=StringIO())
    assert (
        StatusPage.objects.count(),
        StatusComponent.objects.count(),
        StatusNotice.objects.count(),
    ) == first
    page = StatusPage.objects.get(slug="acme")
    assert page.published and page.components.filter(monitors__isnull=False).distinct().count() == 3
    response = Client().get("/status/acme/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "Sign-in failures for some customers" in text  # the resolved incident, under past notices
    assert "Checkout database upgrade" in text  # the maintenance ahead
    assert text.count('class="bar ok"') > 100  # 90 days of uptime behind three monitored components
