"""Every periodic task has a beat entry, and every beat entry names a task the worker knows."""

import importlib
from pathlib import Path

from django.apps import apps
from django.conf import settings

from opsplatform.celery import app

PROJECT_PACKAGES = {
    "opsplatform",
    "audit",
    "incidents",
    "notifications",
    "monitoring",
    "workflows",
    "knowledge",
}

# Tasks that run when something asks for them, never on a clock; each says who enqueues it.
ON_DEMAND = {
    "notifications.send_verification": "enqueued when a member adds an SMS or voice contact method",
    "opsplatform.accounts.send_signin_link": "enqueued when someone asks for an e-mail sign-in link",
}


def _project_tasks() -> set[str]:
    # What a worker registers at start-up: every app's tasks.py plus CELERY_IMPORTS.
    app.loader.import_default_modules()
    return {name for name in app.tasks if name.split(".", 1)[0] in PROJECT_PACKAGES}


def _task_modules_in_the_tree() -> set[str]:
    root = Path(settings.BASE_DIR)
    found = set()
    for package in PROJECT_PACKAGES:
        for path in (root / package).rglob("tasks.py"):
            found.add(".".join(path.relative_to(root).with_suffix("").parts))
    return found


def _scheduled() -> set[str]:
    return {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}


def test_the_worker_imports_every_tasks_module():
    modules = _task_modules_in_the_tree()
    assert "incidents.ingest.tasks" in modules
    # A worker imports each installed app's tasks.py by itself, and CELERY_IMPORTS besides.
    imported = {f"{config.name}.tasks" for config in apps.get_app_configs()} | set(settings.CELERY_IMPORTS)

    missing = modules - imported

    assert missing == set(), f"tasks modules no worker imports (add them to CELERY_IMPORTS): {missing}"


def test_every_task_in_the_tree_is_scheduled_or_declared_on_demand():
    for name in _task_modules_in_the_tree():
        importlib.import_module(name)
    unscheduled = _project_tasks() - _scheduled() - set(ON_DEMAND)

    assert unscheduled == set(), f"periodic tasks with no beat entry: {sorted(unscheduled)}"


def test_every_project_task_is_scheduled_or_declared_on_demand():
    unscheduled = _project_tasks() - _scheduled() - set(ON_DEMAND)

    assert unscheduled == set(), f"periodic tasks with no beat entry: {sorted(unscheduled)}"


def test_every_beat_entry_names_a_task_the_worker_registers():
    unknown = _scheduled() - _project_tasks()

    assert unknown == set(), f"beat entries for tasks no worker knows: {sorted(unknown)}"


def test_on_demand_tasks_exist():
    assert set(ON_DEMAND) <= _project_tasks()


def test_ingestion_ticks_are_scheduled():
    # The ticks a missed heartbeat, a counter flush and retention (raw payloads and every other kind,
    # the ledger archive included) depend on.
    assert {
        "incidents.ingest_heartbeat_tick",
        "incidents.ingest_counters_tick",
        "audit.retention_tick",
    } <= _scheduled()
