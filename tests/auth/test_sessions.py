"""Login sessions live in the database: logging out, expiry and removal end them for every copy of the cookie."""

import hashlib
from datetime import UTC, datetime, timedelta

from ddenterpriseapi.audit_wording import describe
from ddenterpriseapi.extensions import db
from ddenterpriseapi.models import Admin, AdminSession, AuditEvent
from tests.helpers import ADMIN, AuthActions, csrf_from, submit

BASE = "/ddenterpriseapi"
COOKIE = "ddenterpriseapi_session"


def copy_of(app, client):
    """Another browser holding a copy of this client's session cookie (what a thief would have)."""
    other = app.test_client()
    other.set_cookie(COOKIE, client.get_cookie(COOKIE, path="/").value, path="/")
    return other


def logged_in(app, username=ADMIN[0], password=ADMIN[1], ip="127.0.0.1"):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    assert AuthActions(app, client).login(username, password).status_code == 302
    return client


def sessions(app) -> list[AdminSession]:
    with app.app_context():
        records = list(db.session.scalars(db.select(AdminSession).order_by(AdminSession.id)))
        db.session.expunge_all()
        return records


def age_sessions(app, **by: timedelta) -> None:
    """Move the sessions' timestamps back, as if that much time had gone by."""
    with app.app_context():
        for record in db.session.scalars(db.select(AdminSession)):
            for column, delta in by.items():
                setattr(record, column, getattr(record, column) - delta)
        db.session.commit()


def add_admin(client, username):
    response = submit(client, BASE + "/configuration/administrators",
                      {"username": username, "password": "long enough password", "current_password": ADMIN[1]})
    assert response.status_code == 302, response.get_data(as_text=True)


def remove_admin(app, client, username):
    with app.app_context():
        admin_id = db.session.scalar(db.select(Admin.id).filter_by(username=username))
    token = csrf_from(client.get(BASE + "/configuration/administrators"))
    client.post(f"{BASE}/configuration/administrators/{admin_id}/remove", data={"csrf_token": token})
    return admin_id


def test_a_removed_administrators_cookie_never_logs_in_as_the_next_one(app, client, auth):
    auth.login()
    add_admin(client, "bob")
    bob = logged_in(app, "bob", "long enough password")
    assert bob.get(BASE + "/").status_code == 200
    bob_id = remove_admin(app, client, "bob")
    assert [record.admin_id for record in sessions(app)] == [1]  # bob's sessions went with him
    add_admin(client, "carol")
    with app.app_context():
        assert db.session.scalar(db.select(Admin.id).filter_by(username="carol")) != bob_id
    response = bob.get(BASE + "/")
    assert response.status_code == 302 and "/ddenterpriseapi/login" in response.headers["Location"]


def test_logging_out_ends_the_session_for_every_copy_of_the_cookie(app, client, auth):
    auth.login()
    copy = copy_of(app, client)
    assert copy.get(BASE + "/").status_code == 200
    client.post(BASE + "/logout", data={"csrf_token": csrf_from(client.get(BASE + "/"))})
    assert sessions(app) == []
    response = copy.get(BASE + "/")
    assert response.status_code == 302 and "/ddenterpriseapi/login" in response.headers["Location"]


def test_a_session_records_where_it_came_from(app, auth):
    client = app.test_client()
    client.environ_base.update(REMOTE_ADDR="192.0.2.7", HTTP_USER_AGENT="Firefox/140 " + "x" * 400)
    AuthActions(app, client).login()
    (record,) = sessions(app)
    assert record.ip == "192.0.2.7" and record.user_agent.startswith("Firefox/140") and len(record.user_agent) == 255
    cookie = app.session_interface.get_signing_serializer(app).loads(client.get_cookie(COOKIE, path="/").value)
    token = cookie["_user_id"]
    assert len(token) >= 43 and record.token_hash == hashlib.sha256(token.encode()).hexdigest()  # never the token


def test_idle_sessions_expire(app, client, auth):
    auth.login()
    age_sessions(app, last_seen_at=timedelta(minutes=29))
    assert client.get(BASE + "/").status_code == 200
    (record,) = sessions(app)
    assert datetime.now(UTC) - record.last_seen_at < timedelta(seconds=10)  # the request kept it alive
    age_sessions(app, last_seen_at=timedelta(minutes=31))
    assert client.get(BASE + "/").headers["Location"].startswith(BASE + "/login")
    assert sessions(app) == []


def test_last_seen_is_written_at_most_once_a_minute(app, client, auth):
    auth.login()
    age_sessions(app, last_seen_at=timedelta(seconds=30))
    (before,) = sessions(app)
    client.get(BASE + "/")
    assert sessions(app)[0].last_seen_at == before.last_seen_at
    age_sessions(app, last_seen_at=timedelta(seconds=31))
    client.get(BASE + "/")
    assert sessions(app)[0].last_seen_at > before.last_seen_at


def test_the_idle_timeout_is_set_in_seconds_from_the_environment(make_env_app):
    app = make_env_app(DDE_SESSION_IDLE_TIMEOUT="60")
    assert app.config["SESSION_IDLE_TIMEOUT"] == timedelta(minutes=1)
    AuthActions(app, app.test_client()).create()
    client = logged_in(app)
    age_sessions(app, last_seen_at=timedelta(seconds=61))
    assert client.get(BASE + "/").status_code == 302


def test_sessions_end_after_their_absolute_lifetime_however_busy(app, client, auth):
    auth.login()
    age_sessions(app, created_at=timedelta(hours=7, minutes=59))
    assert client.get(BASE + "/").status_code == 200
    age_sessions(app, created_at=timedelta(minutes=2))
    assert client.get(BASE + "/").status_code == 302
    assert sessions(app) == []


def test_logging_in_again_replaces_the_browsers_session(app, client, auth):
    auth.login()
    copy = copy_of(app, client)
    auth.login()
    assert len(sessions(app)) == 1
    assert copy.get(BASE + "/").status_code == 302


def test_password_change_ends_the_other_sessions_only(app, client, auth):
    auth.login()
    other = logged_in(app, ip="192.0.2.8")
    response = submit(client, BASE + "/account/password", {
        "current_password": ADMIN[1], "new_password": "another long password", "confirm": "another long password"})
    assert response.status_code == 302
    assert client.get(BASE + "/").status_code == 200
    assert other.get(BASE + "/").status_code == 302
    assert [record.ip for record in sessions(app)] == ["127.0.0.1"]


def test_the_sessions_page_lists_this_administrators_sessions(app, client, auth):
    auth.create("other", "other long password")
    logged_in(app, "other", "other long password", ip="198.51.100.1")
    client.environ_base.update(HTTP_USER_AGENT="Console-Test-Browser/1.0")
    auth.login()
    logged_in(app, ip="192.0.2.9")
    page = client.get(BASE + "/account/sessions").get_data(as_text=True)
    assert "192.0.2.9" in page and "127.0.0.1" in page and "198.51.100.1" not in page
    assert page.count("this session") == 1 and "Console-Test-Browser/1.0" in page
    assert "after 30 minutes without use, or 8 hours after logging in" in page
    assert 'href="/ddenterpriseapi/account/sessions"' in client.get(BASE + "/").get_data(as_text=True)


def test_log_out_everywhere_else(app, client, auth):
    auth.login()
    elsewhere = logged_in(app, ip="192.0.2.10")
    token = csrf_from(client.get(BASE + "/account/sessions"))
    response = client.post(BASE + "/account/sessions/end-others", data={"csrf_token": token})
    assert "1 other session logged out." in client.get(response.headers["Location"]).get_data(as_text=True)
    assert client.get(BASE + "/").status_code == 200
    assert elsewhere.get(BASE + "/").status_code == 302
    assert [record.ip for record in sessions(app)] == ["127.0.0.1"]
    assert "You have no other session open." in client.get(BASE + "/account/sessions").get_data(as_text=True)
    with app.app_context():
        event = db.session.scalars(db.select(AuditEvent).filter_by(action="sessions_ended")).one()
        assert event.actor == ADMIN[0] and describe(event) == "other sessions logged out: 1"
    assert "sessions ended" in client.get(BASE + "/audit").get_data(as_text=True)
