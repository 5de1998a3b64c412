"""One producer of the automation storm, in a process of its own (fresh interpreter, own database
connection: no GIL or connection shared with the consumer or the other producers):

    python -m tests.bench.automation_producer '<json>'

The JSON names the organization, the acting user and the service by id, how many events to produce,
the period between two of them, this producer's offset in the common schedule, and what an event
is (``produce``):

* ``incidents``: an incident opened through ``incident_create``, whose ``incident.triggered`` ledger
  entry is the event (the whole platform path: validation, SLA policy, row, entry, pushes);
* ``entries``: the ``incident.triggered`` entry alone, appended through ``audit.services.record`` in
  a transaction of its own for one of the ``incidents`` the test opened beforehand (the event as the
  consumer sees it, for a fraction of the cost).

Once set up it prints ``ready`` and reads the schedule's start (a wall-clock instant, the same for
every producer) from stdin, then produces on that schedule: a producer that falls behind does not
sleep until it has caught up. Then prints one JSON line:
``{"ids": [...], "finished": <wall clock>, "cpu": <CPU seconds of the storm>, "error": null | "<repr>"}``.
Environment: ``DJANGO_SETTINGS_MODULE``, ``DATABASE_URL`` (the test database) and ``REDIS_URL``.
"""

from __future__ import annotations

import json
import sys
import time


def triggered_data(incident) -> dict:
    """What ``incident_create`` writes in the entry."""
    return {
        "title": incident.title,
        "severity": incident.severity,
        "priority": incident.priority,
        "service": incident.service_id,
        "team": incident.team_id,
        "source": incident.source,
    }


def main(spec: dict) -> dict:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from audit.services import record
    from incidents.models import Incident, Service
    from incidents.services import incident_create
    from opsplatform.accounts.models import Organization
    from opsplatform.core.actors import Actor

    organization = Organization.objects.get(pk=spec["organization"])
    actor = Actor.for_member(get_user_model().objects.get(pk=spec["user"]), organization)
    service = Service.objects.get(pk=spec["service"])
    opened = Incident.objects.in_bulk(spec.get("incidents", []))

    def incident(n):
        return incident_create(
            actor=actor, title=f"Storm {spec['index']}-{n}", severity="sev3", service=service
        )

    def entry(n):
        target = opened[spec["incidents"][n]]
        with transaction.atomic():
            record(actor=actor, verb="incident.triggered", target=target, data=triggered_data(target))
        return target

    produce = incident if spec["produce"] == "incidents" else entry
    ids, error = [], None
    print("ready", flush=True)
    # Wall clock: the producers agree on the schedule across processes.
    start, period = float(sys.stdin.readline()) + spec["offset"], spec["period"]
    cpu = time.process_time()  # the storm's, not the interpreter's start-up
    try:
        for n in range(spec["count"]):
            delay = start + n * period - time.time()
            if delay > 0:
                time.sleep(delay)
            ids.append(produce(n).pk)
    except Exception as exc:  # reported to the test, which fails on it
        error = repr(exc)
    return {"ids": ids, "finished": time.time(), "cpu": time.process_time() - cpu, "error": error}


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))), flush=True)
