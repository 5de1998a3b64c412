"""Approval requests reach approvers by e-mail (a real loopback SMTP server) with signed links that
open the confirmation page; each notice goes out once."""

import re

import pytest
from django.test import override_settings

from tests.notifications.peers import smtp_server
from workflows.delivery import run_notice_tick
from workflows.links import read_approval_token
from workflows.models import Notice, NoticeStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp():
    with (
        smtp_server() as (port, messages),
        override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=port,
            EMAIL_USE_TLS=False,
            EMAIL_HOST_USER="",
            EMAIL_HOST_PASSWORD="",
        ),
    ):
        yield messages


def test_approvers_are_mailed_once_with_signed_links(smtp, pending_change, users, second_manager):
    first = run_notice_tick()
    second = run_notice_tick()

    approvers = {users["manager"].email, users["admin"].email, users["owner"].email, second_manager.email}
    assert first == {"sent": 4, "failed": 0} and second == {"sent": 0, "failed": 0}
    assert {rcpt for m in smtp for rcpt in m.rcpt_tos} == approvers
    assert users["operator"].email not in {rcpt for m in smtp for rcpt in m.rcpt_tos}
    assert set(Notice.objects.values_list("status", flat=True)) == {NoticeStatus.SENT}
    body = next(m for m in smtp if users["manager"].email in m.rcpt_tos).content.decode()
    token = re.search(r"Approve: \S+/approvals/link/([^/\s]+)/", body).group(1)
    claim = read_approval_token(token)
    assert (claim.user_id, claim.verdict) == (users["manager"].pk, "approve")


def test_an_unreachable_mail_server_is_retried_not_lost(pending_change):
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=1,
        EMAIL_TIMEOUT=2,
    ):
        result = run_notice_tick()

    assert result["sent"] == 0 and result["failed"] > 0
    notice = Notice.objects.first()
    assert notice.status == NoticeStatus.FAILED and notice.next_attempt_at is not None and notice.last_error
