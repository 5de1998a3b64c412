"""The demo seed adds an example identity provider per organization, turned off, once."""

import io

import pytest
from django.core.management import call_command

from opsplatform.accounts.models import IdentityProvider, Organization

pytestmark = pytest.mark.django_db


def test_seed_demo_adds_an_example_provider_once():
    for _ in range(2):
        call_command("seed_demo", stdout=io.StringIO())
    for org in Organization.objects.all():
        provider = IdentityProvider.objects.get(organization=org)
        assert provider.enabled is False and provider.role_mapping["ops-admins"] == "admin"
        assert provider.issuer.startswith("https://")
