"""The Outbox pages and the dashboard through the test client: lists, filters, a message, its buttons."""

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from ddenterpriseapi.audit_wording import describe
from ddenterpriseapi.models import AuditEvent
from ddenterpriseapi.outbox.listing import PAGE_SIZE
from tests.helpers import OUTBOX_BODY, add_outbox_message, csrf_from, flashes, outbox_row

OUTBOX = "/ddenterpriseapi/outbox"


@pytest.fixture
def admin(app, client, auth):
    auth.login()
    return client


@pytest.fixture
def rows(app):
    """Commit a message in this status; its id."""
    return lambda status, **fields: add_outbox_message(app, status, **fields)


def press(client, message_id: int, button: str):
    """Click a button on the message's page (its CSRF token included); the page it lands on."""
    token = csrf_from(client.get(f"{OUTBOX}/{message_id}"))
    return client.post(f"{OUTBOX}/{message_id}/{button}", data={"csrf_token": token}, follow_redirects=True)


def audit_rows(app) -> list[tuple[str, str, str]]:
    with app.app_context():
        return [(event.actor, event.action, describe(event)) for event in
                app.extensions["sqlalchemy"].session.scalars(select(AuditEvent).where(AuditEvent.action.like("outbox%")))]


@pytest.mark.parametrize("path", ["", "/1"])
def test_pages_need_a_login(client, auth, rows, path):
    rows("held")
    response = client.get(OUTBOX + path)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_an_action_needs_a_login(app, client, auth, rows):
    message_id = rows("held")
    response = client.post(f"{OUTBOX}/{message_id}/cancel")
    assert response.status_code in (302, 400)
    assert outbox_row(app, message_id)["status"] == "held"


def test_the_list_shows_each_message_newest_first(admin, rows):
    rows("sent", subject="Older report", last_reply="250 2.0.0 OK queued as 1701")
    rows("deferred", subject="Invoice 118", recipients=["a@example.org", "b@example.org", "c@example.org"],
         last_error="421 4.7.0 Try again later", attempts=[("deferred", "421 4.7.0 Try again later")],
         next_attempt_at=datetime(2026, 12, 24, 18, 5, tzinfo=UTC))
    page = flashes(admin.get(OUTBOX))
    assert page.index("Invoice 118") < page.index("Older report")
    assert "To a@example.org and 2 more" in page and "421 4.7.0 Try again later" in page
    assert page.count("next attempt") == 1
    assert 'next attempt <time datetime="2026-12-24T18:05:00Z">Dec 24, 2026, 6:05:00' in page
    assert "250 2.0.0 OK queued as 1701" in page and "API key Reports (dde_ab12…)" in page
    assert re.search(r"All <span class=\"count\">2</span>", page)
    assert re.search(r"Deferred <span class=\"count\">1</span>", page)
    assert "BODY-NEVER-SHOWN" not in page


def test_filter_by_status_keeps_the_search(admin, rows):
    rows("held", subject="Held weekly")
    rows("sent", subject="Sent weekly")
    rows("held", subject="Held invoice")
    page = flashes(admin.get(OUTBOX + "?status=held&q=weekly"))
    assert "Held weekly" in page and "Sent weekly" not in page and "Held invoice" not in page
    assert 'href="/ddenterpriseapi/outbox?status=sent&amp;q=weekly"' in admin.get(OUTBOX + "?q=weekly").get_data(
        as_text=True)


def test_search_finds_a_recipient_and_says_when_nothing_matches(admin, rows):
    rows("sent", recipients=["first@example.org", "needle@example.org"], subject="Found")
    rows("sent", subject="Other")
    page = flashes(admin.get(OUTBOX + "?q=needle"))
    assert "Found" in page and "Other" not in page
    assert "No message matches." in flashes(admin.get(OUTBOX + "?q=nothing-like-this"))
    assert "Other" in flashes(admin.get(OUTBOX + "?status=no-such-status"))  # an unknown status lists all


def test_pagination_links_walk_the_whole_list(admin, rows):
    for number in range(PAGE_SIZE + 5):
        rows("sent", subject=f"Report number {number:03d}")
    first = admin.get(OUTBOX + "?status=sent").get_data(as_text=True)
    assert "Report number 054" in first and "Report number 004" not in first and "Newer" not in first
    older = re.search(r'href="(/ddenterpriseapi/outbox\?status=sent&amp;before=\d+)">Older', first).group(1)
    second = admin.get(older.replace("&amp;", "&")).get_data(as_text=True)
    assert "Report number 004" in second and "Report number 005" not in second and "Older" not in second
    newer = re.search(r'href="(/ddenterpriseapi/outbox\?status=sent&amp;after=\d+)">Newer', second).group(1)
    assert "Report number 054" in admin.get(newer.replace("&amp;", "&")).get_data(as_text=True)


def test_the_message_page_shows_everything_but_the_body(admin, rows):
    message_id = rows("sent", subject="Weekly report", origin="relay", submitted_by="relay user billing",
                      recipients=["a@example.org", "b@example.org"],
                      refused_recipients={"b@example.org": "550 5.1.1 unknown"}, last_reply="250 2.0.0 OK",
                      message_id="<weekly@example.com>",
                      attempts=[("deferred", "421 4.7.0 Try later"), ("sent", "250 2.0.0 OK")])
    page = flashes(admin.get(f"{OUTBOX}/{message_id}"))
    for text in ("Weekly report", "<weekly@example.com>", "a@example.org, b@example.org", "SMTP relay",
                 "relay user billing", "550 5.1.1 unknown", "421 4.7.0 Try later", "app-01:4242",
                 "The email server accepted it."):
        assert text in page, text
    assert "BODY-NEVER-SHOWN" not in page
    assert "Retry now" not in page and "Cancel" not in page and "Send again" not in page


def test_a_missing_message_is_not_found(admin):
    assert admin.get(f"{OUTBOX}/999").status_code == 404
    assert admin.post(f"{OUTBOX}/999/cancel", data={"csrf_token": csrf_from(admin.get(OUTBOX + "?q=x"))}
                      ).status_code == 404


def test_retry_now(app, admin, rows):
    message_id = rows("held")
    page = flashes(press(admin, message_id, "retry"))
    assert f"Message {message_id} is queued again" in page
    assert outbox_row(app, message_id)["status"] == "queued"
    assert audit_rows(app) == [("admin", "outbox_message_retried", f"message {message_id}")]


def test_cancel(app, admin, rows):
    message_id = rows("deferred")
    page = flashes(press(admin, message_id, "cancel"))
    assert f"Message {message_id} is cancelled" in page and "An administrator withdrew it" in page
    row = outbox_row(app, message_id)
    assert (row["status"], row["body"]) == ("cancelled", None)
    assert audit_rows(app) == [("admin", "outbox_message_cancelled", f"message {message_id}")]


def test_send_again_opens_the_copy(app, admin, rows):
    failed_id = rows("failed", last_error="550 5.7.1 rejected")
    page = flashes(press(admin, failed_id, "send-again"))
    copy_id = failed_id + 1
    assert f"<h1>Message {copy_id}" in page and f"a copy of message {failed_id}" in page
    assert "Administrator admin" in page
    assert outbox_row(app, failed_id)["status"] == "failed"
    assert (outbox_row(app, copy_id)["status"], outbox_row(app, copy_id)["body"]) == ("queued", OUTBOX_BODY)
    assert audit_rows(app) == [("admin", "outbox_message_sent_again", f"message {failed_id}, copied as {copy_id}")]


def test_an_action_that_does_not_apply_is_refused_in_words(app, admin, rows):
    message_id = rows("sent")
    response = press(admin, message_id, "cancel")
    page = flashes(response)
    assert response.status_code == 200 and "Traceback" not in page
    assert "Only a queued, deferred or held message can be cancelled; this one is “Sent”." in page
    assert outbox_row(app, message_id)["status"] == "sent"
    assert audit_rows(app) == []


def test_an_action_without_the_csrf_token_changes_nothing(app, admin, rows):
    message_id = rows("held")
    assert admin.post(f"{OUTBOX}/{message_id}/cancel").status_code == 400
    assert outbox_row(app, message_id)["status"] == "held"


def test_the_message_page_offers_the_buttons_that_apply(admin, rows):
    offered = {status: flashes(admin.get(f"{OUTBOX}/{rows(status)}")) for status in ("queued", "held", "failed")}
    assert "Cancel" in offered["queued"] and "Retry now" not in offered["queued"]
    assert "Retry now" in offered["held"] and "Cancel" in offered["held"] and "Send again" not in offered["held"]
    assert "Send again" in offered["failed"] and "Cancel" not in offered["failed"]
