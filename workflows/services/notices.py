"""Queue messages to people about approvals, tasks and automations (the workflows outbox,
``models.Notice``).

A person is reached the way a page reaches them first: one notice per contact method of their
earliest notification rules (``notifications.selectors.first_contact_methods``), or one to their
account address when they set no rules. Rows are inserted with ``ON CONFLICT DO NOTHING`` on their
idempotency key: a tick that runs twice, or a retried transaction, queues each message once.
The notice tick sends them after commit.
"""

from notifications.escalation.targets import CONTACT_MEDIUM
from notifications.masking import mask_email
from notifications.models import Medium
from notifications.selectors import first_contact_methods
from opsplatform.accounts.models import User
from opsplatform.core.memo import remembered
from workflows.models import Notice


def _contacts(user_ids) -> tuple[dict, dict]:
    return first_contact_methods(user_ids), dict(
        User.objects.filter(pk__in=user_ids).values_list("pk", "email")
    )


def enqueue(
    *, organization_id: int, kind: str, recipients, key: str, approval=None, task=None, execution=None
) -> None:
    """Notices of ``kind`` to each recipient id; ``key`` names the occasion (``approval:7:requested``)."""
    user_ids = sorted(set(recipients))
    if not user_ids:
        return
    # Inside a batch's memo scope (an automation chunk), the same people's are read once.
    contacts, emails = remembered(("notice-contacts", tuple(user_ids)), lambda: _contacts(user_ids))
    common = {
        "organization_id": organization_id,
        "kind": kind,
        "approval": approval,
        "task": task,
        "execution": execution,
    }
    rows = []
    for user_id in user_ids:
        for contact in contacts.get(user_id, []):
            rows.append(
                Notice(
                    **common,
                    recipient_id=user_id,
                    contact_method=contact,
                    medium=CONTACT_MEDIUM[contact.kind],
                    destination=contact.masked_address[:200],
                    idempotency_key=f"{key}:{user_id}:contact:{contact.pk}"[:120],
                )
            )
        if user_id not in contacts and user_id in emails:
            rows.append(
                Notice(
                    **common,
                    recipient_id=user_id,
                    medium=Medium.EMAIL,
                    destination=mask_email(emails[user_id] or "")[:200],
                    idempotency_key=f"{key}:{user_id}:email"[:120],
                )
            )
    if rows:
        Notice.objects.bulk_create(rows, ignore_conflicts=True)
