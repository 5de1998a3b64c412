"""Celery tasks of the workflows app: the beat ticks (each safe to run twice, each claims its rows)."""

from celery import shared_task

from workflows.automation.tick import run_automation_tick
from workflows.delivery import run_notice_tick
from workflows.ticks import run_approvals_tick, run_playbook_tick, run_tasks_overdue_tick


@shared_task(name="workflows.approvals_tick", ignore_result=True)
def approvals_tick():
    return run_approvals_tick()


@shared_task(name="workflows.tasks_overdue_tick", ignore_result=True)
def tasks_overdue_tick():
    return run_tasks_overdue_tick()


@shared_task(name="workflows.playbook_tick", ignore_result=True)
def playbook_tick():
    return run_playbook_tick()


@shared_task(name="workflows.notice_tick", ignore_result=True)
def notice_tick():
    return run_notice_tick()


@shared_task(name="workflows.automation_tick", ignore_result=True)
def automation_tick():
    return run_automation_tick()
