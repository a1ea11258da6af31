"""The security an admin console needs: headers, CSRF everywhere, throttling, sessions, size limits."""


import pytest

from ddenterpriseapi.extensions import db
from ddenterpriseapi.models import Admin, AuditEvent
from tests.helpers import ADMIN, AuthActions, csrf_from, submit

BASE = "/ddenterpriseapi"


def test_security_headers(client, auth):
    response = client.get(BASE + "/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers
    assert "Strict-Transport-Security" in client.get(BASE + "/login", base_url="https://localhost").headers


def test_session_cookie_flags(client, auth):
    response = auth.login()
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    secure_client = client.application.test_client()
    page = secure_client.get(BASE + "/login", base_url="https://localhost")
    response = secure_client.post(BASE + "/login", base_url="https://localhost",
                                  headers={"Referer": "https://localhost/ddenterpriseapi/login"},
                                  data={"username": ADMIN[0], "password": ADMIN[1], "csrf_token": csrf_from(page)})
    assert response.status_code == 302 and "Secure" in response.headers["Set-Cookie"]


def test_every_form_requires_csrf(app, client, auth):
    auth.login()
    posts = [rule for rule in app.url_map.iter_rules()
             if "POST" in rule.methods and rule.endpoint != "api.send_mail"]
    assert len(posts) >= 8
    for rule in posts:
        path = BASE + rule.build({arg: "1" for arg in rule.arguments})[1]
        response = client.post(path, data={"name": "x", "username": "x", "password": "y" * 20})
        assert response.status_code == 400, rule
        assert "security token" in response.get_data(as_text=True), rule


def test_session_is_renewed_at_login(client, auth):
    client.get(BASE + "/login")
    before = client.get_cookie("ddenterpriseapi_session", path="/").value
    auth.login()
    after = client.get_cookie("ddenterpriseapi_session", path="/").value
    assert before != after
    attacker = client.application.test_client()
    attacker.set_cookie("ddenterpriseapi_session", before, path="/")
    assert attacker.get(BASE + "/").status_code == 302  # the pre-login session is worth nothing


def test_account_throttling(app, client, auth):
    for _ in range(3):
        assert "Wrong username or password" in auth.login(password="wrong password!").get_data(as_text=True)
    response = auth.login()
    assert response.status_code == 429
    assert "Too many wrong passwords for this account from your address. Wait 30 seconds" in response.get_data(
        as_text=True)
    assert client.get(BASE + "/").status_code == 302
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "192.0.2.50"
    assert AuthActions(app, elsewhere).login().status_code == 302  # the guesses locked out nobody else


def test_request_rate_limit(client, auth):
    """Flask-Limiter's 10 logins a minute per address, when no account is guessed at often enough to wait."""
    for number in range(10):
        page = auth.login(username=f"guess{number}", password="wrong password!")
        assert page.status_code == 200 and "Wrong username or password" in page.get_data(as_text=True), number
    response = auth.login(username="guess10", password="wrong password!")
    assert response.status_code == 429
    assert response.headers["X-RateLimit-Limit"] == "10" and response.headers["X-RateLimit-Remaining"] == "0"
    assert 0 < int(response.headers["Retry-After"]) <= 60


def test_size_limit(make_app):
    app = make_app(MAX_CONTENT_LENGTH=1024 * 1024)
    AuthActions(app, app.test_client()).create()
    response = app.test_client().post(BASE + "/login", data={"username": "x" * (2 * 1024 * 1024)})
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True) and "1 MiB" in response.get_data(as_text=True)


def test_healthz(client):
    response = client.get(BASE + "/healthz")
    assert response.status_code == 200 and response.json["database"] == "ok"
    assert set(response.json) == {"status", "database", "worker", "queue", "reasons"}  # numbers, never a secret
    assert "Set-Cookie" not in response.headers


def test_password_change_ends_other_sessions(app, client, auth):
    auth.login()
    other = app.test_client()
    AuthActions(app, other).login()
    response = submit(client, BASE + "/account/password", {
        "current_password": ADMIN[1], "new_password": "another long password", "confirm": "another long password"})
    assert response.status_code == 302
    assert client.get(BASE + "/").status_code == 200
    assert other.get(BASE + "/").status_code == 302
    assert AuthActions(app, app.test_client()).login(password="another long password").status_code == 302


def test_administrators_never_the_last(app, client, auth):
    auth.login()
    submit(client, BASE + "/configuration/administrators", {"username": "second", "password": "second password!",
                                                            "current_password": ADMIN[1]})
    with app.app_context():
        ids = {admin.username: admin.id for admin in db.session.scalars(db.select(Admin))}
    page = client.get(BASE + "/configuration/administrators")
    client.post(f"{BASE}/configuration/administrators/{ids['second']}/remove", data={"csrf_token": csrf_from(page)})
    page = client.get(BASE + "/configuration/administrators")
    response = client.post(f"{BASE}/configuration/administrators/{ids[ADMIN[0]]}/remove",
                           data={"csrf_token": csrf_from(page)})
    assert "The last administrator cannot be removed" in client.get(response.headers["Location"]).get_data(
        as_text=True)
    with app.app_context():
        assert [a.username for a in db.session.scalars(db.select(Admin))] == [ADMIN[0]]


def test_audit_log_records_names_never_values(google, mail, make_smtp, admin_client, oauth_app):
    google.connect()
    mail.send_test(make_smtp(google.server))
    submit(admin_client, BASE + "/configuration/api-keys", {"name": "reporting"})
    with oauth_app.app_context():
        events = [(e.action, e.detail or "") for e in db.session.scalars(db.select(AuditEvent))]
    actions = [action for action, _ in events]
    for expected in ("login", "oauth_settings_changed", "authorized", "email_server_changed", "test_email_sent",
                     "api_key_created"):
        assert expected in actions
    changed = dict(events)["oauth_settings_changed"]
    assert "client_secret" in changed and "console-client-secret-value" not in changed
    page = admin_client.get(BASE + "/audit").get_data(as_text=True)
    assert "oauth settings changed" in page and "console-client-secret-value" not in page


XSS = '<script>alert("x")</script>'


def test_stored_xss_is_escaped_everywhere(client, auth, app):
    auth.login()
    submit(client, BASE + "/configuration/oauth", {"provider": "custom", "client_id": XSS, "scopes": XSS,
                                                   "authorization_url": "https://idp.example/a?x=" + XSS,
                                                   "token_url": "https://idp.example/t", "save": "1"})
    submit(client, BASE + "/configuration/email-server", {"host": "smtp.example.com", "port": "587",
                                                          "security": "starttls", "authentication": "password",
                                                          "username": XSS, "sender_name": XSS, "save": "1"})
    submit(client, BASE + "/configuration/api-keys", {"name": XSS})
    submit(client, BASE + "/configuration/administrators", {"username": XSS[:60], "password": "p" * 20,
                                                            "current_password": ADMIN[1]})
    for path in ("/", "/configuration/oauth", "/configuration/email-server", "/configuration/api-keys",
                 "/configuration/administrators", "/audit"):
        html = client.get(BASE + path).get_data(as_text=True)
        assert "<script>alert" not in html, path
    assert "&lt;script&gt;alert" in client.get(BASE + "/configuration/api-keys").get_data(as_text=True)


@pytest.mark.parametrize("path", [
    "/login?next=%3Cscript%3Ealert(1)%3C/script%3E",
    "/audit?page=%3Cscript%3E",
    "/?lang=%3Cscript%3Ealert(1)%3C/script%3E",
    "/configuration/oauth?provider=%3Cscript%3Ealert(1)%3C/script%3E",
])
def test_reflected_xss(client, auth, path):
    auth.login()
    html = client.get(BASE + path).get_data(as_text=True)
    assert "<script>alert" not in html


def test_tenant_error_escapes_the_input(client, auth):
    auth.login()
    page = submit(client, BASE + "/configuration/oauth", {"provider": "microsoft", "tenant": XSS, "save": "1"})
    html = page.get_data(as_text=True)
    assert "<script>alert" not in html and "is not a tenant Microsoft accepts" in html


SQL = "x'; DROP TABLE admin; -- \" OR 1=1"


def test_sql_metacharacters_are_data(client, auth, app):
    auth.login()
    submit(client, BASE + "/configuration/oauth", {"provider": "google", "client_id": SQL, "client_secret": SQL,
                                                   "current_password": ADMIN[1], "save": "1"})
    submit(client, BASE + "/configuration/email-server", {"host": "smtp.example.com", "port": "587",
                                                          "security": "starttls", "authentication": "password",
                                                          "username": SQL, "password": SQL, "sender_name": SQL,
                                                          "save": "1"})
    submit(client, BASE + "/configuration/api-keys", {"name": SQL})
    auth.login(username=SQL, password=SQL)
    submit(client, BASE + "/configuration/administrators", {"username": SQL[:60], "password": "p" * 20,
                                                            "current_password": ADMIN[1]})
    from ddenterpriseapi.models import ApiKey, MailServer, OAuthSettings
    with app.app_context():
        assert db.session.get(OAuthSettings, 1).client_id == SQL
        assert db.session.get(OAuthSettings, 1).client_secret == SQL
        mail = db.session.get(MailServer, 1)
        assert (mail.username, mail.password, mail.sender_name) == (SQL, SQL, SQL)
        assert db.session.scalars(db.select(ApiKey)).one().name == SQL
        assert db.session.scalar(db.select(db.func.count()).select_from(Admin)) == 2
    assert client.get(BASE + "/").status_code == 200
