"""Credentials go only where they belong: an OAuth token to its provider's SMTP servers, a saved password to the
server it was typed for, and neither over an unencrypted connection to another machine."""

import html

import pytest

from ddenterpriseapi.extensions import db
from ddenterpriseapi.models import MailServer
from tests.helpers import MAILBOX, reconfigure


def page_text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def saved(app) -> MailServer:
    with app.app_context():
        return db.session.get(MailServer, 1)


def test_saved_password_is_forgotten_when_host_or_port_changes(mail, make_smtp, oauth_app):
    smtp = make_smtp(passwords={MAILBOX[0]: MAILBOX[1]})
    mail.save(smtp, authentication="password", username=MAILBOX[0], password=MAILBOX[1])
    mail.save(smtp, authentication="password", username=MAILBOX[0], password="", sender_name="Reports")
    assert saved(oauth_app).password == MAILBOX[1]  # a blank field keeps it for the same server
    other = make_smtp(passwords={})
    answer = mail.save(other, authentication="password", username=MAILBOX[0], password="")
    assert answer.status_code == 302 and saved(oauth_app).password is None
    assert "The stored SMTP password was forgotten" in page_text(mail.client.get(mail.PAGE))
    assert "No SMTP password is stored" in mail.send_test(other, authentication="password", username=MAILBOX[0])
    assert other.auth_attempts == []


def test_token_is_refused_for_a_host_outside_the_provider(google, mail):
    google.connect()
    answer = mail.save(host="smtp.attacker.example", port="587")
    text = page_text(answer)
    assert answer.status_code == 200
    assert "sent only to its SMTP servers (smtp.gmail.com)" in text and "not to smtp.attacker.example" in text
    assert mail.save(host="smtp.gmail.com", port="587").status_code == 302
    assert mail.save(host="SMTP.GMAIL.COM.", port="587").status_code == 302


def test_token_is_not_sent_after_the_provider_changed(google, mail, oauth_app):
    """Saved for Microsoft, then the provider becomes Google: the test refuses before connecting anywhere (the
    suite's loopback guard fails any attempt to look up smtp.office365.com)."""
    google.save("microsoft")
    assert mail.save(host="smtp.office365.com", port="587").status_code == 302
    google.connect()
    text = mail.send_test(host=None, port=None, security=None)
    assert "An OAuth access token for Google is sent only to its SMTP servers" in text
    assert saved(oauth_app).host == "smtp.office365.com"


def test_custom_provider_tokens_go_to_the_listed_hosts(google, mail):
    base = google.server.base_url
    google.save("custom", authorization_url=f"{base}/o/oauth2/v2/auth", token_url=f"{base}/token",
                scopes="https://mail.google.com/", smtp_hosts="")
    assert "List your provider's SMTP hosts on the OAuth page" in page_text(mail.save(host="smtp.idp.example",
                                                                                     port="587"))
    google.save("custom", authorization_url=f"{base}/o/oauth2/v2/auth", token_url=f"{base}/token",
                scopes="https://mail.google.com/", smtp_hosts="smtp.idp.example")
    assert mail.save(host="smtp.idp.example", port="587").status_code == 302


@pytest.mark.parametrize("authentication", ["password", "oauth"])
def test_no_credentials_over_plain_text_to_another_machine(google, mail, authentication):
    answer = mail.save(host="smtp.gmail.com", port="25", security="none", authentication=authentication,
                       username=MAILBOX[0], password="secret")
    assert answer.status_code == 200
    assert "never sent over an unencrypted connection" in page_text(answer)
    assert mail.save(host="smtp.gmail.com", port="25", security="none", authentication="none").status_code == 302


def test_plain_text_is_refused_at_send_time_for_settings_saved_before(google, mail, make_smtp, oauth_app):
    google.connect()
    mail.save(make_smtp(google.server))
    with oauth_app.app_context():
        row = db.session.get(MailServer, 1)
        row.host, row.security = "smtp.gmail.com", "none"
        db.session.commit()
    result = oauth_app.test_cli_runner().invoke(args=["send-test-email", "boss@example.org"])
    assert result.exit_code == 1 and "never sent over an unencrypted connection" in result.output


def test_private_hosts_are_refused_at_send_time_once_blocked(google, mail, oauth_app):
    """Saved before BLOCK_PRIVATE_NETWORKS was switched on: the send refuses before connecting (the suite's loopback
    guard fails any attempt to reach 10.0.0.1)."""
    assert mail.save(host="10.0.0.1", port="587", authentication="password", username=MAILBOX[0],
                     password=MAILBOX[1]).status_code == 302
    reconfigure(oauth_app, BLOCK_PRIVATE_NETWORKS=True)
    result = oauth_app.test_cli_runner().invoke(args=["send-test-email", "boss@example.org"])
    assert result.exit_code == 1 and "10.0.0.1 leads to 10.0.0.1, a private" in result.output
