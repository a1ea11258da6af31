"""The audit log keeps details as a wording code and its values, worded in the language of whoever reads it."""

from ddenterpriseapi import audit
from ddenterpriseapi.extensions import db
from ddenterpriseapi.models import AuditEvent

AUDIT = "/ddenterpriseapi/audit"


def events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(db.select(AuditEvent).filter_by(action=action)))


def test_details_are_stored_as_a_wording_and_its_values(admin_client, oauth_app):
    with oauth_app.app_context():
        audit.record("test_email_failed", audit.COMMAND_LINE, "550 No such user", "sent_to", recipient="a@example.org")
    (event,) = events(oauth_app, "test_email_failed")
    assert (event.wording, event.params, event.detail) == ("sent_to", {"recipient": "a@example.org"},
                                                           "550 No such user")
    assert "to a@example.org: 550 No such user" in admin_client.get(AUDIT).get_data(as_text=True)


def test_events_written_before_show_their_text_as_it_was(admin_client, oauth_app):
    with oauth_app.app_context():
        db.session.add(AuditEvent(action="test_email_sent", actor="admin", detail="to boss@example.org"))
        db.session.commit()
    assert "to boss@example.org" in admin_client.get(AUDIT).get_data(as_text=True)


def test_a_failed_login_is_worded_when_read(auth, client, app):
    client.get("/ddenterpriseapi/login?lang=fr")
    auth.login(password="not the password")
    (event,) = events(app, "login_failed")
    assert (event.wording, event.detail) == ("wrong_credentials", None)  # no words of the visitor's language
    auth.login()
    assert "wrong username or password" in client.get(AUDIT + "?lang=en").get_data(as_text=True)
