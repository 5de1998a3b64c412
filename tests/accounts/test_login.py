"""Signing in and out: no account enumeration, brute-force lockout that expires, Argon2 hashing."""

import re
import time
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import AnonymousUser
from django.db.models import F
from django.test import override_settings
from django_otp.plugins.otp_totp.models import TOTPDevice

import opsplatform.settings as production_settings
from audit.models import LedgerEntry
from opsplatform.accounts.views.auth import lockout_response
from tests.accounts.factories import PASSWORD, UserFactory

LOGIN_URL = "/accounts/login/"
GENERIC_ERROR = "Sign-in failed. Check your username and password."
CSRF_TOKEN = re.compile(r"[A-Za-z0-9]{64}")

pytestmark = pytest.mark.django_db


def attempt(client, username, password, ip="127.0.0.1", **extra):
    return client.post(LOGIN_URL, {"username": username, "password": password, **extra}, REMOTE_ADDR=ip)


def comparable(response, username) -> str:
    """The page with what legitimately differs between two renders masked: the per-render CSRF
    token and the username the visitor typed (which the form shows back)."""
    text = CSRF_TOKEN.sub("CSRF", response.content.decode())
    return text.replace(username, "USERNAME")


def signed_in_user_id(client):
    return client.session.get("_auth_user_id")


@pytest.fixture
def alice(db):
    return UserFactory(username="alice-wonder")


def test_login_page_renders(client):
    response = client.get(LOGIN_URL)

    assert response.status_code == 200
    assert b'name="username"' in response.content
    assert b'name="password"' in response.content


def test_success_goes_to_dashboard_and_records_login_on_platform_chain(client, alice):
    response = attempt(client, "alice-wonder", PASSWORD, ip="10.1.2.3")

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert signed_in_user_id(client) == str(alice.pk)
    entry = LedgerEntry.objects.get(verb="auth.login")
    assert entry.organization_id is None
    assert entry.target_type == "accounts.user"
    assert entry.target_id == str(alice.pk)
    assert entry.data == {"ip": "10.1.2.3", "method": "password"}


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/settings/profile/", "/settings/profile/"),
        ("https://evil.example/steal", "/"),
        ("//evil.example/", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_next_is_followed_only_within_the_site(client, alice, next_url, expected):
    response = attempt(client, "alice-wonder", PASSWORD, next=next_url)

    assert response.status_code == 302
    assert response["Location"] == expected


def test_user_with_second_factor_is_sent_to_verify(client, alice):
    TOTPDevice.objects.create(user=alice, name="phone", confirmed=True)

    response = attempt(client, "alice-wonder", PASSWORD, next="/settings/teams/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/verify/?next=%2Fsettings%2Fteams%2F"
    assert client.get("/").status_code == 302  # password alone does not open the app


def test_unknown_user_and_wrong_password_get_identical_answers(client, alice):
    unknown = attempt(client, "nobody-here", "whatever-password")
    wrong = attempt(client, "alice-wonder", "not-the-password")

    assert unknown.status_code == wrong.status_code == 200
    assert comparable(unknown, "nobody-here") == comparable(wrong, "alice-wonder")
    assert GENERIC_ERROR in wrong.content.decode()
    assert unknown["Cache-Control"] == wrong["Cache-Control"]
    assert signed_in_user_id(client) is None
    assert not LedgerEntry.objects.filter(verb="auth.login").exists()


def test_inactive_user_gets_the_same_answer(client, alice):
    alice.is_active = False
    alice.save(update_fields=["is_active"])

    inactive = attempt(client, "alice-wonder", PASSWORD)
    unknown = attempt(client, "nobody-here", PASSWORD)

    assert inactive.status_code == unknown.status_code
    assert comparable(inactive, "alice-wonder") == comparable(unknown, "nobody-here")
    assert signed_in_user_id(client) is None


def lock_out(client, username):
    # A fresh address per attempt: only the per-username counter reaches the limit.
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, username, f"wrong-{n}", ip=f"10.9.0.{n + 1}")


def test_locked_username_refuses_even_the_right_password_with_the_same_answer(client, alice):
    baseline = attempt(client, "nobody-here", "wrong", ip="10.8.0.1")
    lock_out(client, "alice-wonder")

    locked = attempt(client, "alice-wonder", PASSWORD, ip="10.7.0.1")

    assert locked.status_code == baseline.status_code
    assert comparable(locked, "alice-wonder") == comparable(baseline, "nobody-here")
    assert locked["Cache-Control"] == baseline["Cache-Control"]
    assert signed_in_user_id(client) is None


def test_locked_unknown_username_answers_like_a_locked_real_one(client, alice):
    lock_out(client, "alice-wonder")
    lock_out(client, "nobody-here")

    real = attempt(client, "alice-wonder", PASSWORD, ip="10.7.0.1")
    ghost = attempt(client, "nobody-here", PASSWORD, ip="10.7.0.2")

    assert real.status_code == ghost.status_code
    assert comparable(real, "alice-wonder") == comparable(ghost, "nobody-here")


def test_lockout_is_per_username(client, alice):
    UserFactory(username="bob-builder")
    lock_out(client, "alice-wonder")

    response = attempt(client, "bob-builder", PASSWORD, ip="10.7.0.3")

    assert response.status_code == 302
    assert signed_in_user_id(client) is not None


def test_lockout_is_per_address_too(client, alice):
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, f"someone-{n}", "wrong", ip="10.6.0.1")

    from_same_address = attempt(client, "alice-wonder", PASSWORD, ip="10.6.0.1")
    assert signed_in_user_id(client) is None
    assert GENERIC_ERROR in from_same_address.content.decode()

    from_elsewhere = attempt(client, "alice-wonder", PASSWORD, ip="10.6.0.2")
    assert from_elsewhere.status_code == 302


def test_lockout_ends_after_the_cool_off(client, alice):
    lock_out(client, "alice-wonder")
    assert signed_in_user_id(client) is None

    cool_off = settings.AXES_COOLOFF_TIME
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - cool_off - timedelta(seconds=1))
    response = attempt(client, "alice-wonder", PASSWORD, ip="10.7.0.9")

    assert response.status_code == 302
    assert signed_in_user_id(client) == str(alice.pk)


def test_configured_cool_off_is_honoured(client, alice):
    with override_settings(AXES_COOLOFF_TIME=timedelta(seconds=1)):
        lock_out(client, "alice-wonder")
        assert signed_in_user_id(client) is None
        time.sleep(1.1)
        response = attempt(client, "alice-wonder", PASSWORD, ip="10.7.0.8")

    assert response.status_code == 302


def test_failed_attempts_write_no_ledger_rows(client, alice):
    lock_out(client, "alice-wonder")

    assert LedgerEntry.objects.count() == 0


def test_empty_form_is_a_form_error_not_a_500(client):
    response = client.post(LOGIN_URL, {"username": "", "password": ""})

    assert response.status_code == 200
    assert b"This field is required." in response.content


def test_signed_in_visitor_is_sent_on(client, alice):
    client.force_login(alice)

    assert client.get(LOGIN_URL)["Location"] == "/"


def test_logout_needs_post(client, alice):
    client.force_login(alice)

    assert client.get("/accounts/logout/").status_code == 405
    assert signed_in_user_id(client) == str(alice.pk)

    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Location"] == LOGIN_URL
    assert signed_in_user_id(client) is None


def test_anonymous_pages_redirect_to_login(client):
    response = client.get("/settings/profile/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/settings/profile/"


def test_argon2_is_the_production_hasher():
    argon2 = "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert production_settings.PASSWORD_HASHERS[0] == argon2

    with override_settings(PASSWORD_HASHERS=[argon2]):
        assert make_password("correct horse battery staple").startswith("argon2$")


@pytest.mark.parametrize("extra_args", [(None,), (None, {"username": "alice-wonder"})])
def test_lockout_callable_accepts_both_axes_call_styles(rf, extra_args):
    # axes' sync middleware passes (request, response, credentials), its async one (request, credentials).
    request = rf.post(LOGIN_URL, {"username": "alice-wonder", "password": "x"})
    request.session = {}
    request.user = AnonymousUser()

    response = lockout_response(request, *extra_args)

    assert response.status_code == 200
    assert GENERIC_ERROR in response.content.decode()
