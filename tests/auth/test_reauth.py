"""Sensitive changes ask for the administrator's password again, throttled and audited like a login."""

import re

from ddenterpriseapi.extensions import db
from ddenterpriseapi.models import Admin, AuditEvent
from tests.helpers import ADMIN, AuthActions, submit

BASE = "/ddenterpriseapi"
ADMINS = BASE + "/configuration/administrators"
PASSWORD = BASE + "/account/password"
NEW = "another long password"


def field_error(response, field) -> str:
    """The message shown next to a field."""
    match = re.search(rf'id="{field}-error">([^<]*)<', response.get_data(as_text=True))
    return match.group(1) if match else ""


def usernames(app) -> list[str]:
    with app.app_context():
        return sorted(db.session.scalars(db.select(Admin.username)))


def events(app, action) -> list[AuditEvent]:
    with app.app_context():
        found = list(db.session.scalars(db.select(AuditEvent).filter_by(action=action)))
        db.session.expunge_all()
        return found


def test_adding_an_administrator_asks_for_your_password(app, client, auth):
    auth.login()
    new = {"username": "second", "password": "second password!"}
    response = submit(client, ADMINS, new)
    assert field_error(response, "current_password") == "This field is required."
    response = submit(client, ADMINS, {**new, "current_password": "not my password"})
    assert response.status_code == 200
    assert field_error(response, "current_password") == "The current password is wrong."
    assert usernames(app) == [ADMIN[0]]
    (failed,) = events(app, "password_check_failed")
    assert (failed.actor, failed.ip) == (ADMIN[0], "127.0.0.1")
    assert submit(client, ADMINS, {**new, "current_password": ADMIN[1]}).status_code == 302
    assert usernames(app) == [ADMIN[0], "second"]
    assert "password check failed" in client.get(BASE + "/audit").get_data(as_text=True)


def test_the_current_password_cannot_be_guessed_without_limit(app, client, auth):
    auth.login()
    change = {"new_password": NEW, "confirm": NEW}
    for _ in range(3):
        response = submit(client, PASSWORD, {**change, "current_password": "a guess at it"})
        assert field_error(response, "current_password") == "The current password is wrong."
    response = submit(client, PASSWORD, {**change, "current_password": ADMIN[1]})
    assert "Wait 30 seconds and try again" in field_error(response, "current_password")
    assert len(events(app, "password_check_failed")) == 3 and len(events(app, "password_check_refused")) == 1
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "192.0.2.60"
    assert AuthActions(app, elsewhere).login().status_code == 302  # the password did not change


def test_failed_logins_and_password_checks_count_together(app, client, auth):
    auth.login()
    guesser = AuthActions(app, app.test_client())  # from the same address
    for _ in range(2):
        assert guesser.login(password="wrong password!").status_code == 200
    response = submit(client, PASSWORD, {"new_password": NEW, "confirm": NEW, "current_password": "a guess at it"})
    assert field_error(response, "current_password") == "The current password is wrong."
    response = submit(client, ADMINS, {"username": "x", "password": "long enough password",
                                       "current_password": ADMIN[1]})
    assert "Wait 30 seconds" in field_error(response, "current_password")
