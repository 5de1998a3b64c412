"""Settings for the test suite: production settings with the few changes tests need."""

import os

os.environ.setdefault("ALLOW_DEV_SECRET", "1")
os.environ.setdefault("SECURE_COOKIES", "0")

from opsplatform.settings import *  # noqa: F403

# Argon2 is deliberately slow; tests create hundreds of users. One test checks production hashing.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]  # noqa: F405
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
# Each test run gets its own cache and channel namespaces so parallel runs on one Redis stay apart.
_RUN = os.environ.get("PYTEST_XDIST_WORKER", "main") + "-" + str(os.getpid())
CACHES["default"]["KEY_PREFIX"] = f"test-{_RUN}"  # noqa: F405
CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = f"test-asgi-{_RUN}"  # noqa: F405
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
# WhiteNoise serves from the finders in tests; an existing STATIC_ROOT keeps it from warning on every test.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
# Attachments of a test run land in a throwaway directory.
KNOWLEDGE_MEDIA_ROOT = BASE_DIR / "var" / "test-media" / _RUN  # noqa: F405
# The tests' OpenID provider serves plain HTTP on loopback (the SSRF guard is opened by the tests
# that talk to it, through OUTBOUND_ALLOWED_NETWORKS).
SSO_ALLOW_HTTP_ISSUERS = True
# A VAPID key of this test run (web push is on in tests, as with DEBUG in development).
WEB_PUSH_VAPID_PRIVATE_KEY = devservices.dev_vapid_private_key(BASE_DIR / "var" / "test-web-push-vapid.key")  # noqa: F405

# The event logs stay in PostgreSQL for the suite even when MONGO_URL points at a server: the tests of
# tests/audit/eventlog/ switch the store per test (and use that server instead of the stand-in).
EVENT_LOGS_BACKEND = "postgres"

# Tests change integrations in ways that bypass the models' signals (queryset updates) and share a
# process between tests: each lookup reads the database. tests/incidents/ingest/test_key_cache.py
# turns the cache on.
INGEST_KEY_CACHE_SECONDS = 0
# Tests run in transactions that roll back, so nothing would ever be sealed: ledger entries are
# chained inline. The sealer's own tests (tests/audit/test_sealing.py) and the platform the
# benchmarks and fault tests start run deferred, the default.
LEDGER_SEAL_DEFERRED = False
