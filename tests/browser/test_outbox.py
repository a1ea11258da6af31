"""The Outbox page and the dashboard's chart in a real browser, as an administrator uses them."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import assert_accessible
from tests.helpers import add_outbox_message

pytestmark = pytest.mark.browser


@pytest.fixture
def messages(live):
    """A few messages in different states, the held one waiting for re-authorization; its id."""
    add = add_outbox_message
    add(live.app, "sent", subject="Weekly report", last_reply="250 2.0.0 OK 1701 - gsmtp")
    add(live.app, "failed", subject="Invoice 2026-118", last_error="550 5.1.1 The email account does not exist.")
    add(live.app, "deferred", subject="Quarterly figures", recipients=["a@example.org", "b@example.org"],
        last_error="421 4.7.0 Try again later", attempts=[("deferred", "421 4.7.0 Try again later")])
    return add(live.app, "held", subject="Disk almost full on app-01", origin="alert", submitted_by="Console alert",
               attempts=[("held", "The OAuth connection needs re-authorization: invalid_grant")])


def test_filter_open_and_cancel_a_held_message(logged_in, live, messages, shot):
    page = logged_in
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Outbox").click()
    expect(page.get_by_role("heading", name="Outbox", exact=True)).to_be_visible()
    expect(page.locator("table.outbox tbody tr")).to_have_count(4)
    shot("outbox")
    assert_accessible(page)

    page.get_by_role("navigation", name="Filter by status").get_by_role("link", name=re.compile(r"^Held")).click()
    expect(page.locator("table.outbox tbody tr")).to_have_count(1)
    page.get_by_role("link", name="Disk almost full on app-01").click()
    expect(page.get_by_role("heading", name=f"Message {messages} Held")).to_be_visible()
    expect(page.get_by_text("The OAuth connection needs re-authorization: invalid_grant")).to_be_visible()
    shot("held-message")
    assert_accessible(page)

    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_text(f"Message {messages} is cancelled")).to_be_visible()
    expect(page.locator("h1 .badge")).to_have_text("Cancelled")
    expect(page.get_by_role("button", name="Cancel")).to_have_count(0)
    shot("cancelled")

    page.get_by_role("link", name="Back to the outbox").click()
    page.get_by_label("Search").fill("quarterly")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("table.outbox tbody tr")).to_have_count(1)
    expect(page.get_by_text("To a@example.org and 1 more")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile(r"^Cancelled\s+1$"))).to_be_visible()
    shot("search")


def test_dashboard_chart_renders_fourteen_days(logged_in, live, messages, shot):
    page = logged_in
    page.reload()
    chart = page.locator(".chart svg")
    expect(chart).to_be_visible()
    expect(chart.locator("g.day")).to_have_count(14)
    expect(chart.locator("rect.bar-delivered")).to_have_count(1)
    expect(chart.locator("rect.bar-failed")).to_have_count(1)
    assert chart.bounding_box()["height"] > 100
    expect(page.get_by_text("No worker running: start it with")).to_be_visible()
    shot("dashboard")
    assert_accessible(page)
