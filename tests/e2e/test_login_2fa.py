"""An owner of an organization that requires two-factor signs in for the first time, in Chromium."""

from base64 import b32decode

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from tests.accounts.factories import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_owner_is_made_to_enroll_then_reaches_the_dashboard(live_server_url, browser, org, users):
    org.require_2fa_for_admins = True
    org.save(update_fields=["require_2fa_for_admins"])
    owner = users["owner"]
    context = browser.new_context()
    page = context.new_page()

    page.goto(f"{live_server_url}/accounts/login/")
    page.fill("input[name=username]", owner.username)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_url("**/accounts/2fa/setup/**")
    expect(page.locator("h1")).to_have_text("Set up two-factor authentication")
    expect(page.locator(".qr svg")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text().strip()
    code = f"{totp(b32decode(secret)):06d}"
    page.fill("input[name=code]", code)
    page.get_by_role("button", name="Turn on two-factor").click()

    expect(page.locator("h1")).to_have_text("Two-factor authentication is on")
    expect(page.locator("#backup-codes li")).to_have_count(10)
    shown = {text.strip() for text in page.locator("#backup-codes li").all_inner_texts()}
    page.get_by_role("link", name="Continue").click()

    page.wait_for_url(f"{live_server_url}/")
    expect(page.get_by_role("heading", name="Needs attention")).to_be_visible()  # the home page
    expect(page.locator("#current-organization")).to_have_text("Acme")

    device = TOTPDevice.objects.get(user=owner)
    assert device.confirmed is True
    assert shown == set(StaticToken.objects.filter(device__user=owner).values_list("token", flat=True))
    context.close()
