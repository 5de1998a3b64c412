"""The one publisher of workflow realtime events: small events after commit; pages re-fetch.

Runs, approvals and tasks go to the organization's group (pages subscribe to the organization
socket and filter by kind and id). Events carry ids and states only.
"""

from opsplatform.realtime.groups import organization_group, publish_after_commit


def publish_run(run, verb: str) -> None:
    publish_after_commit(
        organization_group(run.organization_id),
        {"kind": "workflow_run", "id": run.pk, "verb": verb, "state": run.state},
    )


def publish_task(task, verb: str) -> None:
    publish_after_commit(
        organization_group(task.organization_id),
        {"kind": "task", "id": task.pk, "verb": verb, "status": task.status},
    )
