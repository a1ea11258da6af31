"""The Notifications page: saving with every field checked, the password kept secret, the test notification with
an outcome per destination, and what the page lists."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from ddenterpriseapi.audit_wording import describe
from ddenterpriseapi.extensions import db
from ddenterpriseapi.models import AuditEvent
from ddenterpriseapi.notify.watch import send_test
from tests.helpers import flashes, reconfigure
from tests.notify.helpers import FALLBACK_LOGIN, PAGE, RECIPIENT, NotifyActions, notifications

NO_FALLBACK = "No fallback server is set."


def page_of(client) -> str:
    return flashes(client.get(PAGE))


def test_the_page_is_in_the_menu_and_warns_without_a_fallback_server(notify, admin_client):
    dashboard = flashes(admin_client.get("/ddenterpriseapi/"))
    assert f'href="{PAGE}"' in dashboard and ">Notifications</a>" in dashboard
    page = page_of(admin_client)
    assert NO_FALLBACK in page and "alert emails cannot reach anyone" in page and "Webhooks still work." in page
    assert "None: nothing needs attention." in page and "None yet." in page


def test_test_notification_reaches_every_destination(notify, admin_client, oauth_app, webhook, fallback_smtp):
    page = notify.send_test(webhooks=[webhook.url], fallback=fallback_smtp)
    [request] = webhook.requests
    body = request.json()
    assert body["event"] == "test" and body["state"] == "test" and body["severity"] == "info"
    assert body["text"] == "[ddenterpriseapi] TEST: Test notification from ddenterpriseapi"
    assert "at the request of admin" in body["details"] and body["console_url"] is None
    [email] = fallback_smtp.wait_for_messages(1)
    assert email.rcpt_tos == [RECIPIENT] and email.message["Subject"].startswith("[ddenterpriseapi] TEST:")
    assert f"<strong>Webhook</strong> <code>{webhook.url}</code>: HTTP 204" in page
    assert f"<strong>Email via the fallback server</strong> <code>{RECIPIENT}</code>: 250 " in page
    assert page.count('<li class="ok">') == 2 and NO_FALLBACK not in page
    with oauth_app.app_context():
        event = db.session.query(AuditEvent).filter_by(action="test_notification_sent").one()
        assert describe(event) == "2 of 2 destinations took it"


def test_a_failing_webhook_is_reported_never_with_a_stack_trace(notify, admin_client, oauth_app, webhook):
    webhook.respond_with(500)
    page = notify.send_test(webhooks=[webhook.url], recipients=[])
    assert "The webhook answered HTTP 500 Internal Server Error." in page and '<li class="failed">' in page
    webhook.heal()
    webhook.delay(5)  # longer than HTTP_TIMEOUT (3 s in the tests)
    page = notify.send_test(webhooks=[webhook.url], recipients=[])
    assert "No answer within 3 s." in page
    page = page_of(admin_client)
    assert "Failed: The webhook answered HTTP 500" in page and "Failed: No answer within 3 s." in page
    assert "Traceback" not in page
    assert [n["ok"] for n in notifications(oauth_app)] == [False, False]


def test_the_email_without_any_route_says_so(notify, admin_client):
    page = notify.send_test(recipients=[RECIPIENT])
    assert "Not sent: the email server cannot carry it now, and no fallback server is set." in page


def test_nowhere_to_send_to(notify):
    page = notify.send_test(recipients=[])
    assert "There is nowhere to send to: enter a webhook URL or an email recipient." in page


@pytest.mark.parametrize("url, problem", [
    ("ftp://hooks.example.com/x", "Enter a full URL starting with https://."),
    ("http://hooks.example.com/x", "Use https:// (plain http is accepted only for localhost"),
    ("https://user:secret@hooks.example.com/x", "A URL must not contain a user name or password."),
    ("not a url", "Enter a full URL starting with https://."),
])
def test_webhook_urls_are_checked_line_by_line(notify, url, problem):
    page = flashes(notify.save(webhooks=["https://hooks.example.com/fine", url]))
    assert f"{url}: {problem}" in page and 'id="webhook_urls-error"' in page
    assert "Notification settings saved." not in page


def test_private_hosts_are_refused_when_blocked_on_saving_and_on_sending(notify, oauth_app, webhook):
    assert notify.save(webhooks=["https://10.1.2.3/hook", webhook.url]).status_code == 302  # not blocked yet
    reconfigure(oauth_app, BLOCK_PRIVATE_NETWORKS=True)
    page = notify.send_test(webhooks=["https://10.1.2.3/hook", webhook.url], recipients=[])
    assert "https://10.1.2.3/hook: 10.1.2.3 leads to 10.1.2.3, a private" in page  # refused before sending
    assert "Notification settings saved." not in page and webhook.requests == []
    page = flashes(notify.save(webhooks=[webhook.url], fallback_host="192.168.1.20", fallback_port="25"))
    assert "192.168.1.20 leads to 192.168.1.20, a private" in page  # the fallback server too
    assert notify.save(webhooks=[webhook.url]).status_code == 302  # loopback stays allowed


def test_a_private_webhook_saved_before_the_block_is_not_posted_to(notify, oauth_app):
    notify.save(webhooks=["https://10.1.2.3/hook"], recipients=[])
    reconfigure(oauth_app, BLOCK_PRIVATE_NETWORKS=True)
    with oauth_app.app_context():
        [result] = send_test(oauth_app.extensions["dde_runtime"], "admin", datetime.now(UTC))
        assert not result.ok and "a private, link-local, reserved or multicast address" in result.detail


@pytest.mark.parametrize("fields, error", [
    ({"recipients": ["oncall@example.org", "not-an-address"]}, "not-an-address is not an email address:"),
    ({"fallback_host": "smtp.example.com", "fallback_port": "587", "fallback_username": "me@example.com",
      "fallback_password": "pw", "fallback_security": "none"},
     "Passwords and tokens are never sent over an unencrypted connection"),
    ({"fallback_host": "127.0.0.1", "fallback_port": "25", "fallback_username": "me@example.com"},
     "Enter the password of this username."),
    ({"fallback_host": "127.0.0.1", "fallback_port": ""}, "Enter a port, such as 25."),
    ({"fallback_host": "127.0.0.1", "fallback_port": "25"}, "Enter the address alert emails come from."),
    ({"fallback_host": "smtp host", "fallback_port": "25"}, "Enter a host name or IP address only"),
    ({"fallback_sender": "alerts@", "fallback_host": "127.0.0.1", "fallback_port": "25"},
     "Enter an email address, such as alerts@example.com."),
])
def test_fields_are_checked(notify, fields, error):
    response = notify.save(**fields)
    assert response.status_code == 200 and error in flashes(response)


def test_the_local_mail_server_needs_no_password(notify, admin_client):
    response = notify.save(fallback_host="localhost", fallback_port="25", fallback_sender="alerts@example.com")
    assert response.status_code == 302
    assert NO_FALLBACK not in page_of(admin_client)


def test_the_password_is_encrypted_never_shown_and_kept_when_left_blank(notify, admin_client, oauth_app,
                                                                         fallback_smtp, webhook):
    assert notify.save(webhooks=[webhook.url], fallback=fallback_smtp).status_code == 302
    page = page_of(admin_client)
    assert FALLBACK_LOGIN[1] not in page and "A password is stored. Leave this blank to keep it" in page
    with oauth_app.app_context():
        stored = db.session.execute(text("SELECT fallback_password, webhook_urls FROM notification_settings")).one()
    assert FALLBACK_LOGIN[1] not in stored[0] and webhook.url not in stored[1]  # encrypted at rest
    assert notify.save(webhooks=[webhook.url], fallback=fallback_smtp, fallback_password="").status_code == 302
    page = notify.send_test(webhooks=[webhook.url], fallback=fallback_smtp, fallback_password="")
    assert fallback_smtp.wait_for_messages(1)[0].auth_login == FALLBACK_LOGIN[0]  # the kept password still works
    assert FALLBACK_LOGIN[1] not in page
    response = notify.save(webhooks=[webhook.url], fallback=fallback_smtp, fallback_password="",
                           fallback_port="2525")
    assert "The stored password of the fallback server was forgotten" in flashes(admin_client.get(PAGE))
    assert response.status_code == 302


def test_changes_are_audited_by_name_only(notify, oauth_app, webhook):
    notify.save(webhooks=[webhook.url], recipients=[RECIPIENT])
    with oauth_app.app_context():
        event = db.session.query(AuditEvent).filter_by(action="notification_settings_changed").one()
    assert "webhook_urls" in event.detail and "recipients" in event.detail
    assert webhook.url not in event.detail and RECIPIENT not in event.detail


def test_anonymous_visitors_are_sent_to_login(client, auth):
    response = client.get(PAGE)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert NotifyActions  # the page's actions need a logged-in administrator
