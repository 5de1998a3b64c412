"""Two-factor: enrollment, verification at sign-in, backup codes, throttling, the org policy, removal."""

import re

import pytest
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP, totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from opsplatform.accounts import two_factor
from tests.accounts.factories import PASSWORD
from tests.ledger import entries

SETUP = "/accounts/2fa/setup/"
VERIFY = "/accounts/2fa/verify/"
SECURITY = "/settings/security/"

pytestmark = pytest.mark.django_db


def current_code(device) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def code_in_new_time_step(device) -> str:
    """A code django-otp has not seen yet. Stands in for waiting for the next 30-second step:
    a code is accepted only for a step after the last one used."""
    TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1)
    device.refresh_from_db()
    return f"{TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token():06d}"


def wrong_code(device) -> str:
    return f"{(int(current_code(device)) + 500000) % 1000000:06d}"


def unthrottle(device) -> None:
    type(device).objects.filter(pk=device.pk).update(
        throttling_failure_count=0, throttling_failure_timestamp=None
    )


def enrolled(user):
    device = two_factor.totp_enroll(user=user)
    enrollment = two_factor.totp_confirm(user=user, device=device, code=current_code(device))
    return enrollment


def password_login(client, user, **extra):
    return client.post("/accounts/login/", {"username": user.username, "password": PASSWORD, **extra})


def ledger(verb):
    return entries(verb)


# --- enrollment ---------------------------------------------------------------------------------


def test_setup_page_shows_qr_code_and_secret_of_a_pending_device(client_as, users):
    client = client_as("operator")

    response = client.get(SETUP)

    assert response.status_code == 200
    device = TOTPDevice.objects.get(user=users["operator"])
    assert device.confirmed is False
    assert two_factor.totp_secret_base32(device) in response.content.decode()
    assert b"<svg" in response.content
    entry = ledger("auth.2fa_enrollment_started").get()
    assert entry.organization_id is None
    assert entry.target_id == str(users["operator"].pk)


def test_reloading_setup_keeps_the_same_secret(client_as, users):
    client = client_as("operator")
    first = client.get(SETUP).content
    second = client.get(SETUP).content

    device = TOTPDevice.objects.get(user=users["operator"])
    secret = two_factor.totp_secret_base32(device).encode()
    assert secret in first
    assert secret in second
    assert ledger("auth.2fa_enrollment_started").count() == 1


def test_valid_code_confirms_device_and_shows_ten_backup_codes_once(client_as, users):
    client = client_as("operator")
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=users["operator"])

    response = client.post(SETUP, {"code": current_code(device)})

    assert response.status_code == 200
    device.refresh_from_db()
    assert device.confirmed is True
    codes = set(StaticToken.objects.filter(device__user=users["operator"]).values_list("token", flat=True))
    assert len(codes) == two_factor.BACKUP_CODE_COUNT
    shown = set(re.findall(r"<li><code>([a-z2-7]{8})</code></li>", response.content.decode()))
    assert shown == codes
    assert "no-store" in response["Cache-Control"]
    # The session that enrolled counts as verified with the new device.
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert client.get("/").status_code == 200
    entry = ledger("auth.2fa_enabled").get()
    assert entry.organization_id is None
    assert entry.data["backup_codes"] == 10


def test_wrong_code_is_a_form_error_and_device_stays_pending(client_as, users):
    client = client_as("operator")
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=users["operator"])

    response = client.post(SETUP, {"code": wrong_code(device)})

    assert response.status_code == 200
    assert "That code is not valid." in response.content.decode()
    device.refresh_from_db()
    assert device.confirmed is False
    assert device.throttling_failure_count == 1
    assert not StaticDevice.objects.filter(user=users["operator"]).exists()
    assert not ledger("auth.2fa_enabled").exists()


def test_setup_is_throttled_after_a_wrong_code(client_as, users):
    client = client_as("operator")
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=users["operator"])
    client.post(SETUP, {"code": wrong_code(device)})

    response = client.post(SETUP, {"code": current_code(device)})

    assert "Too many wrong codes" in response.content.decode()
    device.refresh_from_db()
    assert device.confirmed is False


def test_setup_cannot_replace_an_existing_device_before_verification(client, users):
    user = users["operator"]
    enrolled(user)
    client.force_login(user)

    response = client.get(SETUP)

    assert response.status_code == 302
    assert response["Location"].startswith(VERIFY)
    assert TOTPDevice.objects.filter(user=user).count() == 1


# --- verification at sign-in --------------------------------------------------------------------


def test_password_then_totp_code_opens_the_app(client, users):
    user = users["operator"]
    device = enrolled(user).device

    assert password_login(client, user)["Location"] == f"{VERIFY}"
    assert client.get("/").status_code == 302
    response = client.post(VERIFY, {"code": code_in_new_time_step(device), "next": "/settings/teams/"})

    assert response.status_code == 302
    assert response["Location"] == "/settings/teams/"
    assert client.get("/").status_code == 200
    entry = ledger("auth.2fa_verified").get()
    assert entry.data == {"method": "totp"}
    assert entry.organization_id is None


def test_unverified_session_is_kept_away_from_pages_and_api(client, users):
    user = users["operator"]
    enrolled(user)
    password_login(client, user)

    page = client.get("/settings/members/")
    assert page.status_code == 302
    assert page["Location"] == f"{VERIFY}?next=/settings/members/"
    api = client.get("/api/v1/teams/")
    assert api.status_code == 403
    assert api["Content-Type"] == "application/problem+json"


def test_wrong_code_at_verification_is_a_form_error_then_throttled(client, users):
    user = users["operator"]
    device = enrolled(user).device
    password_login(client, user)

    first = client.post(VERIFY, {"code": wrong_code(device)})
    assert first.status_code == 200
    assert "That code is not valid." in first.content.decode()

    second = client.post(VERIFY, {"code": code_in_new_time_step(device)})
    assert "Too many wrong codes" in second.content.decode()
    assert client.get("/").status_code == 302

    unthrottle(device)
    third = client.post(VERIFY, {"code": code_in_new_time_step(device)})
    assert third.status_code == 302
    assert client.get("/").status_code == 200


def test_a_totp_code_cannot_be_replayed(client, users):
    user = users["operator"]
    device = enrolled(user).device
    code = code_in_new_time_step(device)
    password_login(client, user)
    assert client.post(VERIFY, {"code": code}).status_code == 302

    client.post("/accounts/logout/")
    password_login(client, user)
    response = client.post(VERIFY, {"code": code})

    assert response.status_code == 200
    assert "That code is not valid." in response.content.decode()


def test_backup_code_works_exactly_once(client, users):
    user = users["operator"]
    codes = enrolled(user).backup_codes
    password_login(client, user)

    response = client.post(VERIFY, {"code": codes[0].upper()})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert StaticToken.objects.filter(device__user=user).count() == 9
    entry = ledger("auth.2fa_verified").get()
    assert entry.data == {"method": "backup_code", "backup_codes_left": 9}

    client.post("/accounts/logout/")
    password_login(client, user)
    reused = client.post(VERIFY, {"code": codes[0]})
    assert reused.status_code == 200
    assert "That code is not valid." in reused.content.decode()

    unthrottle(StaticDevice.objects.get(user=user))
    assert client.post(VERIFY, {"code": codes[1]}).status_code == 302


def test_a_mistyped_backup_code_does_not_throttle_the_authenticator(client, users):
    user = users["operator"]
    device = enrolled(user).device
    password_login(client, user)

    client.post(VERIFY, {"code": "zzzzzzzz"})
    response = client.post(VERIFY, {"code": code_in_new_time_step(device)})

    assert response.status_code == 302


@pytest.mark.parametrize("code", ["²²²²²²", "\u0661\u0662\u0663\u0664\u0665\u0666"])
def test_unicode_digits_are_not_an_authenticator_code(client, users, code):
    # Arabic-Indic 1-6 would be read by int() as 123456: only ASCII digits are tried as a TOTP code.
    user = users["operator"]
    device = enrolled(user).device
    password_login(client, user)

    response = client.post(VERIFY, {"code": code})

    assert response.status_code == 200
    device.refresh_from_db()
    assert device.throttling_failure_count == 0
    assert not ledger("auth.2fa_verified").exists()


# --- organization policy ------------------------------------------------------------------------


@pytest.fixture
def policy_org(org):
    org.require_2fa_for_admins = True
    org.save(update_fields=["require_2fa_for_admins"])
    return org


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_policy_sends_owners_and_admins_without_device_to_setup(client, users, policy_org, role):
    password_login(client, users[role])

    dashboard = client.get("/")
    assert dashboard.status_code == 302
    assert dashboard["Location"] == f"{SETUP}?next=/"
    assert client.get("/settings/organization/").status_code == 302
    api = client.get("/api/v1/teams/")
    assert api.status_code == 403
    assert api["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize("role", ["manager", "operator", "viewer"])
def test_policy_leaves_other_roles_alone(client, users, policy_org, role):
    password_login(client, users[role])

    assert client.get("/").status_code == 200


def test_policy_owner_completes_setup_and_reaches_dashboard(client, users, policy_org):
    owner = users["owner"]
    password_login(client, owner)
    setup = client.get(f"{SETUP}?next=/")
    assert b"requires two-factor" in setup.content
    device = TOTPDevice.objects.get(user=owner)

    done = client.post(SETUP, {"code": current_code(device), "next": "/"})

    assert done.status_code == 200
    assert b'<a class="button" href="/">Continue</a>' in done.content
    assert client.get("/").status_code == 200


# --- security settings: disable, regenerate -----------------------------------------------------


def verified_client(client, user, device):
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def test_security_page_shows_status(client_as, users):
    off = client_as("viewer").get(SECURITY)
    assert off.status_code == 200
    assert b"Set up two-factor" in off.content


def test_disable_with_current_code_removes_every_device(client, users):
    user = users["operator"]
    device = enrolled(user).device
    verified_client(client, user, device)

    response = client.post("/settings/security/disable/", {"code": code_in_new_time_step(device)})

    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert not StaticDevice.objects.filter(user=user).exists()
    assert ledger("auth.2fa_disabled").get().organization_id is None
    assert client.get("/").status_code == 200


def test_disable_with_wrong_code_is_refused(client, users):
    user = users["operator"]
    device = enrolled(user).device
    verified_client(client, user, device)

    response = client.post("/settings/security/disable/", {"code": wrong_code(device)})

    assert response.status_code == 200
    assert "That code is not valid." in response.content.decode()
    assert TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    assert not ledger("auth.2fa_disabled").exists()


def test_disable_is_refused_when_policy_requires_it(client, users, policy_org):
    user = users["admin"]
    device = enrolled(user).device
    verified_client(client, user, device)

    response = client.post("/settings/security/disable/", {"code": code_in_new_time_step(device)})

    assert response.status_code == 403
    assert b"requires two-factor" in response.content
    assert TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    assert not ledger("auth.2fa_disabled").exists()


def test_regenerating_backup_codes_replaces_the_old_ones(client, users):
    user = users["operator"]
    enrollment = enrolled(user)
    verified_client(client, user, enrollment.device)

    response = client.post("/settings/security/backup-codes/")

    assert response.status_code == 200
    new_codes = set(StaticToken.objects.filter(device__user=user).values_list("token", flat=True))
    assert len(new_codes) == 10
    assert new_codes.isdisjoint(enrollment.backup_codes)
    for code in new_codes:
        assert code in response.content.decode()
    assert ledger("auth.2fa_backup_codes_regenerated").count() == 1


def test_regenerating_without_two_factor_is_a_message_not_an_error(client_as):
    client = client_as("viewer")

    response = client.post("/settings/security/backup-codes/", follow=True)

    assert response.status_code == 200
    assert b"Enable two-factor authentication first." in response.content
