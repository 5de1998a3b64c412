"""Approval and task notices reach people through their contact methods, as pages do: a Slack mention
through the organization's Slack channel, a signed personal webhook, a text through the
organization's Twilio account, e-mail for whoever set no rules. Real peers on loopback (an HTTP
receiver, an SMTP server); each peer receives each notice exactly once, retries keep the delivery id,
and a notice that cannot go out ends as a dead letter."""

import re
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from notifications.models import ContactKind, ContactMethod, NotificationRule
from notifications.services.contacts import contact_method_add
from opsplatform.core.actors import Actor
from tests.notifications.conftest import LOOPBACK
from tests.notifications.factories import make_channel
from tests.notifications.peers import http_receiver, mail_through, smtp_server, verify_signature
from workflows.delivery import run_notice_tick
from workflows.links import read_approval_token
from workflows.models import Notice, NoticeKind, NoticeStatus
from workflows.services.task_items import task_create
from workflows.ticks import run_tasks_overdue_tick

pytestmark = pytest.mark.django_db

TWILIO_SID = "AC" + "0123456789abcdef" * 2


@pytest.fixture
def peers():
    with (
        http_receiver() as receiver,
        smtp_server() as (port, mail),
        override_settings(
            OUTBOUND_ALLOWED_NETWORKS=LOOPBACK,
            TWILIO_API_BASE=f"http://127.0.0.1:{receiver.port}/twilio",
        ),
        mail_through(port),
    ):
        yield receiver, mail


def _reach(user, kind, address, *, delay=0):
    issued = contact_method_add(actor=Actor.for_member(user, None), user=user, kind=kind, address=address)
    contact = issued.contact
    if contact.verified_at is None:
        contact.verified_at = timezone.now()
        contact.save(update_fields=["verified_at"])
    NotificationRule.objects.create(user=user, contact_method=contact, delay_minutes=delay)
    return issued


@pytest.fixture
def reachable(org, users, peers):
    """The change request's approvers, each reachable another way."""
    receiver, _ = peers
    make_channel(org, kind="slack", name="Ops Slack", url=receiver.url("/slack"))
    make_channel(
        org,
        kind="twilio_sms",
        name="Texts",
        account_sid=TWILIO_SID,
        auth_token="twilio-secret-token",
        from_number="+15005550006",
        recipients=["+14155550100"],
    )
    _reach(users["manager"], ContactKind.SLACK, "U0MANAGER")
    # A later rule is for pages still unanswered: a notice uses the earliest ones only.
    _reach(users["manager"], ContactKind.EMAIL, "manager-late@example.com", delay=10)
    webhook = _reach(users["admin"], ContactKind.WEBHOOK, receiver.url("/admin-hook"))
    _reach(users["owner"], ContactKind.SMS, "+4915112345678")
    return {"webhook_secret": webhook.signing_secret}


def _by_path(receiver, path):
    return [r for r in receiver.requests if r.path == path]


def test_an_approval_request_reaches_each_approver_through_their_contact_method_once(
    peers, reachable, pending_change, users, second_manager
):
    receiver, mail = peers
    assert run_notice_tick() == {"sent": 4, "failed": 0}
    assert run_notice_tick() == {"sent": 0, "failed": 0}

    # Slack: a mention through the organization's channel, with its approve/reject buttons.
    (slack,) = _by_path(receiver, "/slack")
    body = slack.json()
    assert body["text"].startswith("<@U0MANAGER> ") and f"#{pending_change.pk}" in body["text"]
    buttons = {b["text"]["text"]: b["url"] for b in body["blocks"][2]["elements"]}
    assert set(buttons) == {"Open", "Approve", "Reject"}
    claim = read_approval_token(re.search(r"/approvals/link/([^/]+)/", buttons["Approve"]).group(1))
    assert (claim.user_id, claim.verdict) == (users["manager"].pk, "approve")

    # The admin's own webhook: signed with the contact's secret, the run and approval as data.
    (hook,) = _by_path(receiver, "/admin-hook")
    assert verify_signature(reachable["webhook_secret"], hook.headers, hook.body)
    payload = hook.json()
    assert payload["type"] == "workflow.approval_requested"
    assert payload["recipient"] == "admin"
    assert payload["run"]["id"] == pending_change.pk and payload["approval"]["required"] == 2
    assert [link["label"] for link in payload["links"]] == ["Open", "Approve", "Reject"]
    assert hook.headers["x-opsplatform-delivery"] == payload["delivery_id"]

    # The owner's phone, through the organization's Twilio account.
    (text,) = _by_path(receiver, f"/twilio/2010-04-01/Accounts/{TWILIO_SID}/Messages.json")
    form = text.form()
    assert form["To"] == "+4915112345678" and form["From"] == "+15005550006"
    assert f"#{pending_change.pk}" in form["Body"]

    # No rules: the account address.
    assert [m.rcpt_tos for m in mail] == [[second_manager.email]]
    assert "manager-late@example.com" not in str([m.rcpt_tos for m in mail])

    assert len(receiver.requests) == 3
    rows = Notice.objects.order_by("medium")
    assert {(n.recipient_id, n.medium, n.status) for n in rows} == {
        (users["admin"].pk, "webhook", NoticeStatus.SENT),
        (users["owner"].pk, "sms", NoticeStatus.SENT),
        (users["manager"].pk, "slack", NoticeStatus.SENT),
        (second_manager.pk, "email", NoticeStatus.SENT),
    }
    assert all("+4915112345678" not in n.destination for n in rows)


def test_a_failed_webhook_is_retried_with_the_same_delivery_id_then_sent_once(
    peers, reachable, pending_change
):
    receiver, _ = peers
    Notice.objects.exclude(medium="webhook").delete()  # the receiver's script answers this one alone
    receiver.respond_with(503, then=200)
    now = timezone.now()
    run_notice_tick(now=now)
    notice = Notice.objects.get(medium="webhook")
    assert notice.status == NoticeStatus.FAILED and "503" in notice.last_error

    # Not due yet: nothing is sent again.
    run_notice_tick(now=now + timedelta(seconds=1))
    assert len(_by_path(receiver, "/admin-hook")) == 1

    run_notice_tick(now=now + timedelta(minutes=5))
    run_notice_tick(now=now + timedelta(minutes=10))
    first, second = _by_path(receiver, "/admin-hook")
    assert first.headers["x-opsplatform-delivery"] == second.headers["x-opsplatform-delivery"]
    assert (first.headers["x-opsplatform-attempt"], second.headers["x-opsplatform-attempt"]) == ("1", "2")
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.SENT and notice.attempts == 2


def test_a_refused_request_and_a_removed_contact_method_end_as_dead_letters(
    peers, reachable, pending_change, users
):
    receiver, _ = peers
    receiver.respond_with(410, then=410)
    ContactMethod.objects.filter(user=users["owner"]).delete()
    run_notice_tick()
    dead = dict(Notice.objects.filter(status=NoticeStatus.DEAD).values_list("medium", "last_error"))
    assert set(dead) >= {"sms"}
    assert "removed" in dead["sms"]
    # Every HTTP peer refuses for good (410): no retry is planned.
    assert not Notice.objects.filter(status=NoticeStatus.FAILED).exists()
    assert len(_by_path(receiver, f"/twilio/2010-04-01/Accounts/{TWILIO_SID}/Messages.json")) == 0


def test_an_overdue_task_reaches_its_assignee_on_slack_once(peers, org, users, actor_as):
    receiver, mail = peers
    make_channel(org, kind="slack", name="Ops Slack", url=receiver.url("/slack"))
    _reach(users["operator"], ContactKind.SLACK, "U0OPERATOR")
    now = timezone.now()
    task = task_create(
        actor=actor_as("operator"), title="Rotate keys", assignee=users["operator"], due_at=now
    )
    run_tasks_overdue_tick(now=now + timedelta(minutes=1))
    run_tasks_overdue_tick(now=now + timedelta(minutes=2))
    run_notice_tick()
    run_notice_tick()

    (slack,) = receiver.requests
    body = slack.json()
    assert body["text"] == "<@U0OPERATOR> Task overdue: Rotate keys"
    assert "Your task is overdue: Rotate keys" in body["blocks"][1]["text"]["text"]
    assert Notice.objects.get(task=task, kind=NoticeKind.TASK_OVERDUE).status == NoticeStatus.SENT
    assert mail == []
