"""Queue messages to people about approvals and tasks (the workflows outbox, ``models.Notice``).

Rows are inserted with ``ON CONFLICT DO NOTHING`` on their idempotency key: a tick that runs twice,
or a retried transaction, queues each message once. The notice tick sends them after commit.
"""

from workflows.models import Notice


def enqueue(
    *, organization_id: int, kind: str, recipients, key: str, approval=None, task=None, execution=None
) -> None:
    """One notice of ``kind`` per recipient id; ``key`` names the occasion (``approval:7:requested``)."""
    rows = [
        Notice(
            organization_id=organization_id,
            recipient_id=user_id,
            kind=kind,
            idempotency_key=f"{key}:{user_id}"[:120],
            approval=approval,
            task=task,
            execution=execution,
        )
        for user_id in sorted(set(recipients))
    ]
    if rows:
        Notice.objects.bulk_create(rows, ignore_conflicts=True)
