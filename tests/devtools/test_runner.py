"""The runner keeps the platform up: a child that dies is restarted; only a crash loop stops all."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from opsplatform.devtools import devservices, runner

BASE_DIR = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import sys
    from opsplatform.devtools import runner

    runner.STARTUP_SECONDS = {startup}
    runner.RESTART_DELAY_SECONDS = 0.1
    runner.RESTART_DELAY_MAX_SECONDS = 0.2


    class NoSeed:
        def __init__(self, preexec):
            pass

        def result(self):
            return []

        def finish(self):
            pass


    runner.SeedListing = NoSeed
    r = runner.Runner()
    r.port = "1"  # nothing listens there: no banner, nothing else to wait for
    r.children = [
        runner.Child("steady", [sys.executable, "-c", "import time; time.sleep(60)"]),
        runner.Child("flaky", [sys.executable, "-c", {flaky!r}]),
    ]
    sys.exit(r.run())
    """
)


def start(tmp_path, *, startup: float, flaky: str) -> subprocess.Popen:
    script = SCRIPT.format(startup=startup, flaky=flaky)
    return subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=BASE_DIR,
        env={**os.environ, "PYTHONPATH": str(BASE_DIR)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_a_child_that_dies_after_starting_is_restarted_and_the_others_keep_running(tmp_path):
    starts = tmp_path / "starts"
    # Lives 0.4 s (past the 0.2 s start-up window), then dies: an outage, not a crash loop.
    flaky = f"import time; open({str(starts)!r}, 'a').write('x'); time.sleep(0.4); raise SystemExit(3)"
    proc = start(tmp_path, startup=0.2, flaky=flaky)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (not starts.exists() or len(starts.read_text()) < 4):
            time.sleep(0.1)
        assert starts.exists() and len(starts.read_text()) >= 4  # started, died, started again ...
        assert proc.poll() is None  # and the runner (with the steady child) is still up
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert "restarted flaky" in output
    assert "all processes stopped" in output


def test_a_child_that_cannot_start_stops_the_platform_with_an_error(tmp_path):
    proc = start(tmp_path, startup=10, flaky="raise SystemExit(2)")

    output, _ = proc.communicate(timeout=60)

    assert proc.returncode == 1
    assert "flaky cannot start" in output
    assert output.count("restarted flaky") == 4  # five starts in all, then it gives up
    assert "all processes stopped" in output


def test_the_runner_and_the_embedded_services_work_from_the_repository_root():
    # Children start in this directory (manage.py, python -m opsplatform...), and var/ lives here.
    assert (runner.BASE_DIR / "manage.py").is_file()
    assert devservices.BASE_DIR == runner.BASE_DIR == BASE_DIR
    assert devservices.VAR_DIR == BASE_DIR / "var"


def test_the_platform_runs_in_its_production_shape(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("DEBUG", "true")
    monkeypatch.delenv("WEB_ACCESS_LOG", raising=False)
    monkeypatch.delenv("CELERY_PAGING_QUEUE", raising=False)
    monkeypatch.delenv("CELERY_DELIVERY_QUEUE", raising=False)
    monkeypatch.delenv("CELERY_TASK_DEFAULT_QUEUE", raising=False)
    by_name = {child.name: child for child in runner.children("127.0.0.1", "8000")}

    assert list(by_name) == ["web", "paging", "delivery", "worker", "beat"]
    web = by_name["web"].argv
    assert web[1:3] == ["-m", "opsplatform.devtools.serve"]
    assert web[web.index("--workers") + 1] == "3"
    assert "--no-access-log" in web
    assert by_name["paging"].argv[by_name["paging"].argv.index("-Q") + 1] == "paging"
    assert by_name["delivery"].argv[by_name["delivery"].argv.index("-Q") + 1] == "delivery"
    assert by_name["worker"].argv[by_name["worker"].argv.index("-Q") + 1] == "celery"
    # Celery renders no page: no DEBUG there, and the development secret allowed as DEBUG allowed it.
    assert by_name["paging"].env == {"DEBUG": "false", "ALLOW_DEV_SECRET": "1"}
    assert by_name["web"].env == {}


def test_the_access_log_can_be_turned_back_on(monkeypatch):
    monkeypatch.setenv("WEB_ACCESS_LOG", "true")
    monkeypatch.setenv("DEBUG", "false")
    web = runner.children("127.0.0.1", "8000")[0]
    assert "--no-access-log" not in web.argv
    assert all(child.env == {} for child in runner.children("127.0.0.1", "8000"))


def test_the_workers_of_make_run_can_send_browser_push(monkeypatch, tmp_path):
    """The Celery children run without DEBUG; they still get the development VAPID key the web
    processes hand to browsers, or every push page of `make run` would fail."""
    monkeypatch.setenv("DEBUG", "true")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DJANGO_SETTINGS_MODULE", "WEB_PUSH_VAPID_PRIVATE_KEY", "ALLOW_DEV_SECRET")
    }
    env.update(runner.background_env(), DJANGO_SETTINGS_MODULE="opsplatform.settings")
    probe = (
        "import django; django.setup(); from django.conf import settings;"
        " print(settings.DEBUG, bool(settings.WEB_PUSH_VAPID_PRIVATE_KEY))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert out.stdout.split() == ["False", "True"], out.stderr


def test_each_child_names_its_database_sessions_after_itself(monkeypatch):
    monkeypatch.delenv("DATABASE_APPLICATION_NAME", raising=False)
    monkeypatch.delenv("PGAPPNAME", raising=False)
    probe = [sys.executable, "-c", "import os; print(os.environ['DATABASE_APPLICATION_NAME'])"]
    child = runner.Child("paging", probe)
    child.start(None, stdout=subprocess.PIPE, text=True)
    out, _ = child.process.communicate(timeout=30)
    assert out.strip() == "opsplatform paging"
    # An operator's own name is kept.
    monkeypatch.setenv("DATABASE_APPLICATION_NAME", "ops-eu1")
    child.start(None, stdout=subprocess.PIPE, text=True)
    out, _ = child.process.communicate(timeout=30)
    assert out.strip() == "ops-eu1"


PRIORITY_PROBE = [
    sys.executable,
    "-c",
    "import os, pathlib; group = pathlib.Path('/proc/self/autogroup');"
    " print(os.nice(0)); print(group.read_text().strip() if group.exists() else '')",
]


def test_the_general_worker_and_beat_run_below_ingestion_and_paging(monkeypatch):
    monkeypatch.delenv("WORKER_NICE", raising=False)
    monkeypatch.delenv("DELIVERY_NICE", raising=False)
    priorities = {child.name: child.nice for child in runner.children("127.0.0.1", "8000")}
    assert priorities == {"web": 0, "paging": 0, "delivery": 0, "worker": 10, "beat": 10}
    monkeypatch.setenv("WORKER_NICE", "4")
    assert _lowered() == {"worker": 4, "beat": 4}
    monkeypatch.setenv("WORKER_NICE", "-5")  # raising a priority needs privileges: refused, default kept
    assert _lowered() == {"worker": 10, "beat": 10}


def test_delivery_can_be_lowered_below_ingestion_and_escalation(monkeypatch):
    monkeypatch.delenv("WORKER_NICE", raising=False)
    monkeypatch.setenv("DELIVERY_NICE", "3")
    assert _lowered() == {"delivery": 3, "worker": 10, "beat": 10}
    monkeypatch.setenv("DELIVERY_NICE", "twenty")
    assert _lowered() == {"worker": 10, "beat": 10}


def _lowered() -> dict[str, int]:
    return {child.name: child.nice for child in runner.children("127.0.0.1", "8000") if child.nice}


def _priority_of(child) -> tuple[int, str]:
    child.start(None, stdout=subprocess.PIPE, text=True)
    out, _ = child.process.communicate(timeout=30)
    nice, group = [*out.splitlines(), "", ""][:2]
    return int(nice), group


def test_a_lowered_child_has_its_session_group_lowered_too():
    own = os.nice(0)
    nice, group = _priority_of(runner.Child("worker", PRIORITY_PROBE, nice=7))
    assert nice == min(own + 7, 19)
    # Each child leads a session, so a group of its own where the kernel groups by session: the
    # group's weight is what the CPU is shared by, so it carries the value.
    if group:
        assert group.endswith("nice 7"), group
    nice, group = _priority_of(runner.Child("web", PRIORITY_PROBE))
    assert nice == own
    if group:
        assert group.endswith("nice 0"), group


def test_the_database_sessions_carry_the_name(db):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW application_name")
        expected = os.environ.get("DATABASE_APPLICATION_NAME") or os.environ.get("PGAPPNAME") or "opsplatform"
        assert cursor.fetchone()[0] == expected
