"""``GET /healthz``: can this process reach its database and Redis?

For load balancers, container health checks and uptime monitors. The body names each dependency
with ``"ok"`` or ``"error"`` and nothing else: exception messages can carry hostnames or passwords
from connection URLs, so only the exception class goes to the log.
"""

import logging

import psycopg
import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 1


def check_database() -> None:
    if getattr(connection, "pool", None) is None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return
    # With the pool on (the runner and deployments), a connection is waited for up to
    # DB_POOL_TIMEOUT_SECONDS, and with the database down the wait lasts that long: a probe would
    # time out instead of hearing "database: error". A connection of its own, with a short connect
    # timeout, answers at once, and a pool that is merely busy is not reported as an outage.
    params = connection.get_connection_params()
    params["connect_timeout"] = max(TIMEOUT_SECONDS, 2)  # libpq takes anything below 2 s as 2 s
    with psycopg.connect(**params, autocommit=True) as conn:
        conn.execute("SELECT 1").fetchone()


def check_redis() -> None:
    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS
    )
    try:
        client.ping()
    finally:
        client.close()


CHECKS = {"database": check_database, "redis": check_redis}


@require_safe
def healthz(request):
    results = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as exc:
            logger.warning("health check failed: %s (%s)", name, type(exc).__name__)
            results[name] = "error"
        else:
            results[name] = "ok"
    healthy = all(value == "ok" for value in results.values())
    response = JsonResponse(results, status=200 if healthy else 503)
    add_never_cache_headers(response)
    return response
