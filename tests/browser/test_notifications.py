"""The Notifications page in a real browser: filled in, saved, and a test notification sent to a webhook."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import assert_accessible
from tests.servers.webhook_server import WebhookTestServer

pytestmark = pytest.mark.browser


def test_fill_in_the_page_and_send_a_test_notification(logged_in, live, shot, make_smtp):
    page = logged_in
    fallback = make_smtp(passwords={"alerts@example.net": "fallback mailbox password"})
    with WebhookTestServer() as webhook:
        page.get_by_role("link", name="Notifications").click()
        expect(page.get_by_role("heading", name="Notifications", exact=True)).to_be_visible()
        expect(page.get_by_text("No fallback server is set.")).to_be_visible()
        page.get_by_label("Webhook URLs").fill(webhook.url)
        page.get_by_label("Email recipients").fill("oncall@example.org\nnot an address")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_text("not an address is not an email address")).to_be_visible()

        page.get_by_label("Email recipients").fill("oncall@example.org")
        page.get_by_label("SMTP host").fill(fallback.host)
        page.get_by_label("Port", exact=True).fill(str(fallback.port))
        page.get_by_label("Security").select_option("starttls")
        page.get_by_label("Username").fill("alerts@example.net")
        page.get_by_label("Password", exact=True).fill("fallback mailbox password")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_text("Notification settings saved.")).to_be_visible()
        expect(page.get_by_text("No fallback server is set.")).to_be_hidden()
        expect(page.get_by_label("Password", exact=True)).to_have_value("")
        expect(page.get_by_text("A password is stored.")).to_be_visible()

        page.get_by_role("button", name="Send a test notification").click()
        results = page.get_by_role("region", name="Test notification")
        expect(results.get_by_role("listitem")).to_have_count(2)
        expect(results).to_contain_text(re.compile(r"Webhook\s+" + re.escape(webhook.url) + r": HTTP 204"))
        expect(results).to_contain_text("Email via the fallback server")
        [request] = webhook.wait_for(1)
        assert request.json()["state"] == "test" and request.json()["text"].startswith("[ddenterpriseapi] TEST:")
        assert fallback.wait_for_messages(1)[0].rcpt_tos == ["oncall@example.org"]
        expect(page.get_by_role("region", name="Recent notifications").get_by_role("row")).to_have_count(3)
        shot("notifications")
        assert_accessible(page)
