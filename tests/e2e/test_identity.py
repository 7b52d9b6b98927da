"""In a browser: turning on two-factor sign-in, signing in with a code, the sessions
list, and the administration of sign-in rules."""

from __future__ import annotations

import time

import pyotp
from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD, screenshot, sign_in, signed_in_page


def test_an_agent_turns_on_two_factor_sign_in_and_signs_in_with_a_code(world, new_page):
    page = signed_in_page(new_page, world.agent.email)
    page.get_by_role("link", name=world.agent.full_name).click()
    expect(page.get_by_role("heading", name="Sign-in & security")).to_be_visible()
    page.get_by_role("link", name="Set up an authenticator app").click()
    expect(page.locator(".qr svg")).to_be_visible()
    screenshot(page, "account-two-factor-setup")
    secret = page.locator("#totp-secret").inner_text()
    page.get_by_label("Code from your app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on").click()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    screenshot(page, "account-recovery-codes")
    page.get_by_role("link", name="Done").click()
    expect(page.get_by_text("10 unused recovery codes left")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, world.agent.email)
    expect(page.get_by_role("heading", name="Two-factor sign-in")).to_be_visible()
    page.get_by_label("Code from your authenticator app").fill("000000")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("alert")).to_contain_text("not valid")
    screenshot(page, "login-two-factor")
    page.get_by_label("Code from your authenticator app").fill(
        pyotp.TOTP(secret).at(time.time() + 30)
    )
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("link", name="Queues")).to_be_visible()


def test_people_end_another_session_from_the_security_page(world, new_page):
    other = signed_in_page(new_page, world.agent.email)
    page = signed_in_page(new_page, world.agent.email)
    page.goto("/account/security/")
    rows = page.locator("#sessions tbody tr")
    expect(rows).to_have_count(2)
    screenshot(page, "account-security")
    page.locator("#sessions button:text-is('End')").click()  # the other browser's
    expect(rows).to_have_count(1)
    other.goto("/desk/")
    expect(other.get_by_role("button", name="Sign in")).to_be_visible()


def test_an_admin_requires_two_factor_sign_in_for_staff(world, new_page):
    page = signed_in_page(new_page, world.admin.email)
    page.get_by_role("link", name="Administration").click()
    page.get_by_role("link", name="Sign-in & single sign-on").click()
    page.get_by_label("Staff must use two-factor sign-in").check()
    page.get_by_label("idle minutes").fill("60")
    page.get_by_role("button", name="Save rules").click()
    expect(page.get_by_text("Sign-in rules saved.")).to_be_visible()
    screenshot(page, "manage-sign-in")
    agent = new_page()
    agent.goto("/login/")
    agent.get_by_label("Organization").fill("acme")
    agent.get_by_label("Email").fill(world.agent.email)
    agent.get_by_label("Password").fill(PASSWORD)
    agent.get_by_role("button", name="Sign in").click()
    expect(agent.get_by_role("alert")).to_contain_text("requires two-factor sign-in")
    agent.goto("/desk/")
    expect(agent.get_by_role("heading", name="Set up two-factor sign-in")).to_be_visible()


def test_a_passkey_is_added_and_signs_in(world, new_page):
    page = signed_in_page(new_page, world.agent.email)
    cdp = page.context.new_cdp_session(page)  # Chromium's virtual authenticator
    cdp.send("WebAuthn.enable")
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True,
    }})  # fmt: skip
    page.goto("/account/security/")
    page.get_by_label("Passkey name").fill("Work laptop")
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.locator("#new-recovery-codes li")).to_have_count(10)
    screenshot(page, "account-passkey-added")
    page.reload()
    expect(page.get_by_text("Work laptop")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, world.agent.email)
    page.get_by_role("button", name="Use a passkey").click()
    expect(page.get_by_role("link", name="Queues")).to_be_visible()


def test_an_admin_filters_the_audit_log(world, new_page):
    signed_in_page(new_page, world.agent.email)  # a sign-in to find
    page = signed_in_page(new_page, world.admin.email)
    page.goto("/manage/audit/")
    page.get_by_label("Action").select_option("signed_in")
    page.get_by_label("Person (email)").fill(world.agent.email)
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(world.agent.email)
    screenshot(page, "manage-audit")
