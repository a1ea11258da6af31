"""First-run setup, login, and that nothing but the public pages answers without it."""

import os
import stat
from pathlib import Path

import pytest

from ddenterpriseapi.auth.accounts import AccountError, create_admin
from ddenterpriseapi.auth.setup_code import announce_setup
from tests.helpers import ADMIN, AuthActions, csrf_from, submit

PUBLIC_ENDPOINTS = {"auth.login", "auth.setup", "oauth.callback", "static", "health.healthz", "metrics.scrape"}


def test_setup_code_creates_the_first_admin_then_closes(app, client, capsys):
    assert client.get("/ddenterpriseapi/").headers["Location"].endswith("/ddenterpriseapi/setup")
    announce_setup(app, "127.0.0.1:8080")
    code_file = Path(app.instance_path, "setup-code")
    code = code_file.read_text().strip()
    printed = capsys.readouterr().out
    assert f"Open http://localhost:8080/ddenterpriseapi/setup and enter the setup code {code}" in printed
    assert stat.S_IMODE(os.stat(code_file).st_mode) == 0o600

    form = {"username": "root", "password": "long enough password", "confirm": "long enough password"}
    page = submit(client, "/ddenterpriseapi/setup", {**form, "setup_code": "WRONG-CODE"})
    assert "not the setup code" in page.get_data(as_text=True)

    response = submit(client, "/ddenterpriseapi/setup", {**form, "setup_code": code.lower()})
    assert response.status_code == 302
    assert not code_file.exists()
    assert client.get("/ddenterpriseapi/").status_code == 200
    assert client.get("/ddenterpriseapi/setup").headers["Location"].endswith("/ddenterpriseapi/login")


def test_setup_refuses_a_short_password(app, client):
    announce_setup(app, "127.0.0.1:8080")
    code = Path(app.instance_path, "setup-code").read_text().strip()
    page = submit(client, "/ddenterpriseapi/setup",
                  {"setup_code": code, "username": "root", "password": "short", "confirm": "short"})
    assert "Use at least 12 characters" in page.get_data(as_text=True)


def test_setup_reports_every_mistake_at_once(app, client):
    announce_setup(app, "127.0.0.1:8080")
    page = submit(client, "/ddenterpriseapi/setup",
                  {"setup_code": "WRONG-CODE", "username": "root", "password": "short", "confirm": "other"})
    text = page.get_data(as_text=True)
    assert "This is not the setup code printed by the server." in text
    assert "Use at least 12 characters" in text
    assert "The passwords do not match." in text


@pytest.mark.parametrize(("public_url", "bind", "url"), [
    (None, "0.0.0.0:9000", "http://localhost:9000/ddenterpriseapi/setup"),
    (None, "192.0.2.7:8080", "http://192.0.2.7:8080/ddenterpriseapi/setup"),
    ("https://mail.example.com/ddenterpriseapi/", "127.0.0.1:8080", "https://mail.example.com/ddenterpriseapi/setup"),
])
def test_setup_announcement_gives_the_whole_address(make_app, capsys, public_url, bind, url):
    announce_setup(make_app(PUBLIC_URL=public_url), bind)
    assert f"Open {url} and enter the setup code" in capsys.readouterr().out


def test_login_and_logout(client, auth):
    page = auth.login(password="wrong password!")
    assert "Wrong username or password" in page.get_data(as_text=True)
    assert auth.login().status_code == 302
    assert client.get("/ddenterpriseapi/").status_code == 200
    token = csrf_from(client.get("/ddenterpriseapi/"))
    client.post("/ddenterpriseapi/logout", data={"csrf_token": token})
    assert client.get("/ddenterpriseapi/").status_code == 302


def test_usernames_ignore_case(app, client):
    actions = AuthActions(app, client)
    actions.create("Alice")
    assert actions.login("  aLICE ").status_code == 302
    assert client.get("/ddenterpriseapi/").status_code == 200
    with app.app_context(), pytest.raises(AccountError, match="An administrator named Alice already exists"):
        create_admin("ALICE", ADMIN[1])


def test_login_labels(client, auth):
    page = client.get("/ddenterpriseapi/login").get_data(as_text=True)
    assert '<label for="username">Username</label>' in page
    assert '<label for="password">Password</label>' in page
    assert 'value="Log in"' in page


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\\\evil.example", "javascript:x"])
def test_login_next_never_leaves_the_console(client, auth, target):
    page = client.get("/ddenterpriseapi/login", query_string={"next": target})
    response = client.post("/ddenterpriseapi/login", query_string={"next": target},
                           data={"username": ADMIN[0], "password": ADMIN[1], "csrf_token": csrf_from(page)})
    assert response.headers["Location"] == "/ddenterpriseapi/"


def test_login_next_within_the_console(client, auth):
    response = client.get("/ddenterpriseapi/configuration/oauth")
    assert response.headers["Location"].startswith("/ddenterpriseapi/login?next=")
    page = client.get(response.headers["Location"])
    response = client.post(response.headers["Location"],
                           data={"username": ADMIN[0], "password": ADMIN[1], "csrf_token": csrf_from(page)})
    assert response.headers["Location"] == "/ddenterpriseapi/configuration/oauth"


def test_every_other_route_requires_login(app, client, auth):
    token = csrf_from(client.get("/ddenterpriseapi/login"))  # valid for this session: forms get past the CSRF check
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS or rule.endpoint.startswith("api."):
            continue
        path = "/ddenterpriseapi" + rule.build({arg: "1" for arg in rule.arguments})[1]
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            response = client.open(path, method=method, data=None if method == "GET" else {"csrf_token": token})
            assert response.status_code == 302, (rule, method)
            assert "/ddenterpriseapi/login" in response.headers["Location"], (rule, method)


def test_forms_require_the_csrf_token(client, auth):
    response = client.post("/ddenterpriseapi/login", data={"username": ADMIN[0], "password": ADMIN[1]})
    assert response.status_code == 400
    auth.login()
    response = client.post("/ddenterpriseapi/configuration/oauth", data={"provider": "google", "save": "1"})
    assert response.status_code == 400


def test_create_admin_command(runner, app, client):
    result = runner.invoke(args=["create-admin", "ops", "--password-stdin"], input="a very long password\n")
    assert result.exit_code == 0, result.output
    page = submit(client, "/ddenterpriseapi/login", {"username": "ops", "password": "a very long password"})
    assert page.status_code == 302
    result = runner.invoke(args=["create-admin", "ops", "--password-stdin"], input="a very long password\n")
    assert result.exit_code != 0 and "already exists" in result.output
