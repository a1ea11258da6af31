"""An application certificate's own end, read from the stored certificate, warns 30 and 7 days ahead as a client
secret's does, in its own words."""

from datetime import UTC, datetime, timedelta

from ddenterpriseapi.extensions import db
from ddenterpriseapi.models import OAuthSettings
from ddenterpriseapi.notify.checks import client_certificate_expiry
from tests.helpers import ADMIN, CLIENT, submit
from tests.notify.helpers import run_checks
from tests.servers.app_credentials import app_certificate

PAGE = "/ddenterpriseapi/configuration/oauth"


def save_application(client, certificate_days: int, sign_in: str = "application"):
    """Application sign-in with a certificate that ends in this many days, through the OAuth page."""
    certificate = app_certificate(days=certificate_days)
    answer = submit(client, PAGE, {
        "provider": "microsoft", "sign_in": sign_in, "tenant": "contoso.onmicrosoft.com", "client_id": CLIENT[0],
        "client_certificate": certificate.pem, "mailboxes": "reports@contoso.com", "current_password": ADMIN[1],
        "save": "1"})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return certificate


def test_certificate_expiring_in_30_then_in_7_days(oauth_app, admin_client, notify, webhook):
    notify.save(webhooks=[webhook.url], recipients=[])
    save_application(admin_client, 60)
    run_checks(oauth_app)
    assert webhook.requests == []

    save_application(admin_client, 20)
    run_checks(oauth_app)
    [thirty] = [r.json() for r in webhook.requests]
    assert thirty["event"] == "client_certificate_expires_30" and thirty["severity"] == "warning"
    assert "The application certificate (thumbprint " in thirty["summary"] and "in 20 days" in thirty["summary"]
    assert "Upload certificate" in thirty["details"] and "secret" not in thirty["summary"]

    save_application(admin_client, 5)
    run_checks(oauth_app)
    seven = webhook.requests[1].json()
    assert seven["event"] == "client_certificate_expires_7" and seven["severity"] == "critical"
    assert "in 5 days" in seven["summary"] and len(webhook.requests) == 2

    save_application(admin_client, 400)
    run_checks(oauth_app)
    assert sorted((r.json()["event"], r.json()["state"]) for r in webhook.requests[2:]) == [
        ("client_certificate_expires_30", "resolved"), ("client_certificate_expires_7", "resolved")]


def test_an_expired_certificate_is_told_so(oauth_app, admin_client):
    certificate = save_application(admin_client, 3)
    with oauth_app.test_request_context():
        later = datetime.now(UTC) + timedelta(days=10)
        finding = client_certificate_expiry(later, "client_certificate_expires_7", 7)
        assert finding.summary.endswith(f"expired on {certificate.not_after.date().isoformat()}.")


def test_a_certificate_delegated_sign_in_does_not_use_warns_nobody(oauth_app, admin_client):
    save_application(admin_client, 3)
    with oauth_app.app_context():
        db.session.get(OAuthSettings, 1).sign_in = "delegated"
        db.session.commit()
    with oauth_app.test_request_context():
        assert client_certificate_expiry(datetime.now(UTC), "client_certificate_expires_7", 7) is None
