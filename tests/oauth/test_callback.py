"""The redirect URI is open to anyone: what arrives there must cost the database nothing until it is matched to
an authorization of the same browser session, and a matched one is completed with the parameters it went out with."""

import secrets
import sqlite3
import threading
import time

import requests

from ddenterpriseapi.audit_wording import describe
from ddenterpriseapi.extensions import db
from ddenterpriseapi.models import AuditEvent, OAuthConnection, PendingAuthorization
from tests.helpers import ADMIN, AuthActions, csrf_from, flashes, start_oauth_server, stored_connection
from tests.servers.live import LiveConsole

REDIRECT = "/ddenterpriseapi/v2/oauth/redirect"


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(model))


def forged_answer() -> str:
    return f"{REDIRECT}?code={secrets.token_urlsafe(16)}&state={secrets.token_urlsafe(32)}"


def test_unmatched_answers_write_nothing_and_are_logged(google, oauth_app, caplog):
    google.authorize()  # a real pending authorization exists, in the administrator's session
    events, pending = count(oauth_app, AuditEvent), count(oauth_app, PendingAuthorization)
    anonymous = oauth_app.test_client()
    for path in (forged_answer(), REDIRECT + "?code=abc", REDIRECT + "?error=access_denied"):
        assert anonymous.get(path).status_code == 302
    google.come_back("http://localhost" + forged_answer())  # the administrator's session, an unknown state
    assert count(oauth_app, AuditEvent) == events
    assert count(oauth_app, PendingAuthorization) == pending
    assert sum("matching no authorization" in record.getMessage() for record in caplog.records) == 4


def test_redirect_uri_is_rate_limited(app, auth):
    client = app.test_client()
    answers = [client.get(forged_answer()).status_code for _ in range(31)]
    assert answers[:30] == [302] * 30 and answers[30] == 429


def test_flood_of_answers_does_not_lock_out_logins(make_app):
    """Three clients hammer the redirect URI while an administrator logs in again and again over real HTTP."""
    app = make_app(RATELIMIT_ENABLED=False)  # the database alone must hold, whatever the rate limit lets through
    AuthActions(app, app.test_client()).create()
    events = count(app, AuditEvent)
    stop = threading.Event()
    floods = []

    def flood():
        with requests.Session() as session:
            while not stop.is_set():
                floods.append(session.get(live.url + forged_answer().removeprefix("/ddenterpriseapi"),
                                          allow_redirects=False, timeout=10).status_code)

    with LiveConsole(app) as live:
        threads = [threading.Thread(target=flood) for _ in range(3)]
        for thread in threads:
            thread.start()
        logins = []
        try:
            for _ in range(10):
                with requests.Session() as browser:
                    page = browser.get(live.url + "/login", timeout=10)
                    answer = browser.post(live.url + "/login", timeout=30, allow_redirects=False, data={
                        "username": ADMIN[0], "password": ADMIN[1], "csrf_token": csrf_from(page_text(page))})
                    logins.append(answer.status_code)
        finally:
            stop.set()
            for thread in threads:
                thread.join()
    assert logins == [302] * 10
    assert len(floods) > 30 and set(floods) == {302}
    assert count(app, AuditEvent) == events + 10  # the logins, nothing for the flood


class page_text:
    """A requests response in the shape csrf_from reads."""

    def __init__(self, response):
        self.response = response

    def get_data(self, as_text=True):
        return self.response.text


def test_write_after_read_waits_for_another_writer(app):
    """A transaction that read, then writes after another connection wrote, gets the lock instead of an error."""
    with app.app_context():
        db.session.scalar(db.select(db.func.count()).select_from(AuditEvent))  # a read snapshot is open
        other = sqlite3.connect(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
        other.execute("INSERT INTO audit_event (at, actor, action) VALUES ('2026-01-01', 'other', 'login')")
        other.commit()
        other.close()
        db.session.add(AuditEvent(actor="this", action="login"))
        db.session.commit()
        assert db.session.scalar(db.select(db.func.count()).select_from(AuditEvent)) == 2


def test_lock_wait_is_bounded_and_explained(make_app):
    app = make_app(DATABASE_LOCK_TIMEOUT=2)
    auth = AuthActions(app, app.test_client())
    auth.create()
    holder = sqlite3.connect(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"), isolation_level=None,
                             check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    released = threading.Timer(0.5, holder.execute, ["COMMIT"])
    released.start()
    assert auth.login().status_code == 302  # waits for a short lock, then logs in
    released.join()

    holder.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        answer = auth.login()
        waited = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert answer.status_code == 503 and answer.headers["Retry-After"]
    assert "The database is busy" in flashes(answer) and waited < 5
    assert auth.login().status_code == 302


def test_code_goes_to_the_token_url_the_request_went_out_with(google, oauth_app):
    other = start_oauth_server("google")
    try:
        location = google.consent(google.authorize())
        google.save("custom", authorization_url=other.provider_override()["authorization_url"],
                    token_url=other.provider_override()["token_url"], scopes="https://mail.google.com/",
                    smtp_hosts="smtp.example.net")
        page = google.come_back(location)
        assert "changed after Authorize was clicked" in flashes(page)
        assert other.token_requests == [] and google.server.token_requests == []
        assert stored_connection(oauth_app) is None
    finally:
        other.stop()


def test_answer_naming_another_issuer_is_refused(google, oauth_app):
    location = google.consent(google.authorize())
    page = google.come_back(location + "&iss=https%3A%2F%2Fattacker.example")
    assert "names another authorization server" in flashes(page)
    assert google.server.token_requests == [] and stored_connection(oauth_app) is None
    page = google.come_back(google.consent(google.authorize()) + "&iss=" + google.server.base_url)
    assert "Authorized as" in flashes(page)


def test_microsoft_issuer_names_the_tenant_id(microsoft, oauth_app):
    location = microsoft.consent(microsoft.authorize("microsoft"))
    issuer = f"{microsoft.server.base_url}/{microsoft.server.tenant_id}/v2.0"
    assert "Authorized as" in flashes(microsoft.come_back(f"{location}&iss={issuer}"))
    with oauth_app.app_context():
        assert db.session.get(OAuthConnection, 1).refresh_token


def test_long_provider_text_is_cut_for_the_flash_cookie_and_the_audit_log(google, oauth_app):
    location = google.authorize()
    state = location.split("state=")[1].split("&")[0]
    answer = google.client.get(f"{REDIRECT}?state={state}&error={'e' * 30000}&error_description={'d' * 30000}")
    assert answer.status_code == 302 and len(answer.headers["Set-Cookie"]) < 4000
    with oauth_app.app_context():
        event = db.session.scalars(db.select(AuditEvent).filter_by(action="authorization_failed")).one()
        assert all(100 < len(value) <= 1000 for value in event.params.values())
        assert 100 < len(describe(event)) <= 1000
