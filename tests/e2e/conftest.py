"""Browser tests: the real ASGI application under uvicorn, driven by Debian's chromium.

The server runs in a background thread of the test process, against the test database; tests
that use it get ``transactional_db`` so what they create is committed and visible to the server.
"""

import os
import socket
import threading
import time

import pytest

# Playwright's sync API keeps an event loop running in the test thread; without this, every ORM
# call a test makes would be refused as "called from an async context".
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STARTUP_TIMEOUT_SECONDS = 20


class _ServerThread(threading.Thread):
    def __init__(self, app):
        super().__init__(name="e2e-uvicorn", daemon=True)
        import uvicorn  # only browser tests need it

        # Bound here, before the thread starts, so the port is ours without a race.
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(
            app, lifespan="off", ws="websockets-sansio", log_level="warning", access_log=False
        )
        self.server = uvicorn.Server(config)
        self.error: BaseException | None = None

    def run(self):
        try:
            self.server.run(sockets=[self.sock])
        except BaseException as exc:  # surfaced by wait_until_ready instead of dying silently
            self.error = exc

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.error is not None:
                raise RuntimeError("uvicorn failed to start") from self.error
            if self.server.started:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            time.sleep(0.05)
        raise RuntimeError(f"uvicorn did not accept connections within {STARTUP_TIMEOUT_SECONDS}s")

    def stop(self) -> None:
        self.server.should_exit = True
        self.join(timeout=10)
        self.sock.close()


@pytest.fixture(scope="session")
def _asgi_server(django_db_setup):
    from opsplatform.asgi import application  # after pytest-django configured settings

    thread = _ServerThread(application)
    thread.start()
    thread.wait_until_ready()
    yield thread
    thread.stop()


@pytest.fixture
def live_server_url(_asgi_server, transactional_db) -> str:
    """``http://127.0.0.1:<port>`` of the ASGI app (HTTP and websockets) serving this test's data."""
    return f"http://127.0.0.1:{_asgi_server.port}"


# Module scope, not session: Playwright's sync API keeps an event loop running in the main thread
# while it lives, and every async test collected after the browser tests would fail on it.
@pytest.fixture(scope="module")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run `make chromium` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


# Screenshots are test artifacts (not committed): one PNG per page a test looks at, under
# var/test-artifacts/screenshots/ or $TEST_ARTIFACTS_DIR, for a person to review after the run.
ARTIFACTS_DIR = os.environ.get("TEST_ARTIFACTS_DIR") or os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "var", "test-artifacts"
)


@pytest.fixture
def screenshot():
    """``screenshot(page, "incident-list")`` saves a full-page PNG and returns its path."""
    directory = os.path.join(ARTIFACTS_DIR, "screenshots")
    os.makedirs(directory, exist_ok=True)

    def take(page, name: str) -> str:
        path = os.path.join(directory, f"{name}.png")
        page.screenshot(path=path, full_page=True)
        return path

    return take


@pytest.fixture
def console_errors():
    """``watch(page)`` records console errors and uncaught exceptions; the test asserts it stays empty."""
    seen: list[str] = []

    def watch(page):
        page.on(
            "console", lambda msg: seen.append(f"{msg.type}: {msg.text}") if msg.type == "error" else None
        )
        page.on("pageerror", lambda exc: seen.append(f"pageerror: {exc}"))
        return seen

    return watch
