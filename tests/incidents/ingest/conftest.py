"""Fixtures of the ingestion tests."""

import pytest

from incidents.ingest import lookup_cache
from incidents.ingest.services import integration_create
from opsplatform.core.actors import Actor


@pytest.fixture
def make_integration(org, service):
    """An integration of ``org`` made by its system actor: ``make_integration("alertmanager")`` →
    ``(integration, key)``."""

    def make(kind, *, organization=None, name=None, **values):
        organization = organization or org
        values.setdefault("service", service if organization == org else None)
        issued = integration_create(
            actor=Actor.system("test", organization=organization),
            name=name or f"{kind} integration",
            kind=kind,
            **values,
        )
        return issued.integration, issued.key

    return make


@pytest.fixture
def lookup_cache_on(settings):
    """The process-local lookup cache on, as in production (the test settings turn it off), and
    empty before and after the test."""
    settings.INGEST_KEY_CACHE_SECONDS = 30
    lookup_cache.cache.clear()
    yield
    lookup_cache.cache.clear()
