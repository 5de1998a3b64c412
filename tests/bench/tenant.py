"""The benchmarks' own organization: one service, and integrations to it with the throttle raised
(the benchmarks measure ingestion, not the throttle)."""

from __future__ import annotations

from dataclasses import dataclass

from incidents.ingest.services import integration_create
from incidents.ingest.services.integrations import IssuedKey
from opsplatform.core.actors import Actor
from tests.accounts.factories import OrganizationFactory
from tests.incidents.factories import ServiceFactory

UNTHROTTLED = "1000000/min"


@dataclass
class BenchTenant:
    org: object
    service: object

    def integration(self, kind: str, name: str, **values) -> IssuedKey:
        return integration_create(
            actor=Actor.system("bench", organization=self.org),
            name=name,
            kind=kind,
            service=self.service,
            throttle_rate=UNTHROTTLED,
            **values,
        )


def bench_tenant() -> BenchTenant:
    org = OrganizationFactory(name="Bench", slug="bench")
    return BenchTenant(org=org, service=ServiceFactory(organization=org, name="Checkout", slug="checkout"))
