"""Approval requests reach approvers by e-mail (a real loopback SMTP server) with signed links that
open the confirmation page; each notice goes out once."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from tests.database_faults import fail_first
from tests.lossy_link import lossy_connection
from tests.notifications.peers import mail_through, smtp_server
from workflows.delivery import _claim, run_notice_tick, send_claimed
from workflows.links import read_approval_token
from workflows.models import Notice, NoticeStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp():
    with (
        smtp_server() as (port, messages),
        mail_through(port),
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


def test_a_row_taken_over_after_its_lease_ran_out_is_not_sent_again(smtp, pending_change):
    # A slow tick claimed the rows, then stalled past the lease; a second tick took them over and
    # sent them. When the first one resumes, the fencing check keeps it from sending them again.
    now = timezone.now()
    stalled = _claim(now, limit=100)
    assert stalled
    later = now + timedelta(minutes=3)
    assert run_notice_tick(now=later)["sent"] == len(stalled)
    sent_once = len(smtp)

    assert send_claimed(stalled) == {"sent": 0, "failed": 0}
    assert len(smtp) == sent_once
    message_ids = [re.search(rb"^Message-ID: (.+)$", m.content, re.M | re.I).group(1) for m in smtp]
    assert len(set(message_ids)) == len(message_ids)
    assert set(Notice.objects.values_list("status", flat=True)) == {NoticeStatus.SENT}
    assert set(Notice.objects.values_list("attempts", flat=True)) == {2}


@pytest.mark.django_db(transaction=True)
def test_an_outcome_lost_to_the_database_is_stored_once_it_answers(smtp, pending_change):
    """The mail went, and storing its outcome met a database error (a dropped connection). The write
    is tried again instead of the row waiting for its lease and being mailed a second time."""
    log: list[str] = []
    with connection.execute_wrapper(fail_first('UPDATE "workflows_notice" SET "status"', log)):
        result = run_notice_tick()

    assert result["sent"] == len(smtp) > 0
    assert sum('UPDATE "workflows_notice" SET "status"' in sql for sql in log) == len(smtp) + 1
    assert set(Notice.objects.values_list("status", flat=True)) == {NoticeStatus.SENT}
    # Past the lease nothing is taken over and sent again.
    assert run_notice_tick(now=timezone.now() + timedelta(minutes=3))["sent"] == 0
    assert len(smtp) == result["sent"]


@pytest.mark.django_db(transaction=True)
def test_a_claim_whose_commit_answer_is_lost_sends_its_notices(smtp, pending_change, monkeypatch):
    """The claim commits and the link is cut before its answer (the database going down between the
    two). Once the database answers, the tick finds the rows carry its lease and sends them, instead
    of leaving them to wait for the lease."""
    waiting = Notice.objects.count()
    with lossy_connection(monkeypatch) as link:
        link.lose_answer_to(b"COMMIT")
        result = run_notice_tick()
        assert link.cut.is_set()

    assert result == {"sent": waiting, "failed": 0} and len(smtp) == waiting
    assert set(Notice.objects.values_list("status", "attempts")) == {(NoticeStatus.SENT, 1)}
    assert run_notice_tick(now=timezone.now() + timedelta(minutes=3))["sent"] == 0
    assert len(smtp) == waiting
