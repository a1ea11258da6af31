"""Notifications under app-only sign-in: a refusal of the credentials, found by the worker's token check with no mail
waiting, opens a "credentials rejected" incident carrying its fix, told once, reminded daily, and resolved when working
credentials are saved; a leftover delegated connection raises no alert and is not refreshed."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from ddenterpriseapi.extensions import db
from ddenterpriseapi.models import AppToken, OAuthConnection, OutboxMessage
from tests.helpers import CLIENT, age_app_tokens, app_tokens, save_oauth_settings, worker_round
from tests.notify.helpers import RECIPIENT, age_incident, incidents, notifications, run_checks
from tests.servers.app_credentials import app_certificate

KIND = "credentials_rejected"


def outbox_size(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(OutboxMessage))


def test_an_expired_secret_is_found_by_the_worker_told_once_reminded_and_resolved(
        microsoft_application, microsoft_server, oauth_app, notify, webhook, fallback_smtp):
    notify.save(webhooks=[webhook.url], fallback=fallback_smtp)
    worker_round(oauth_app)  # healthy: a token, nothing to tell
    assert webhook.requests == [] and len(microsoft_server.app_token_requests()) == 1
    microsoft_server.expire_client_secret(CLIENT[0])
    age_app_tokens(oauth_app)  # the token nears its expiry: the next check asks for one

    worker_round(oauth_app)
    worker_round(oauth_app)  # the refusal stands: neither asked again nor told again
    assert len(microsoft_server.app_token_requests()) == 2
    assert outbox_size(oauth_app) == 0  # found with no mail waiting, and the alert went around the email channel
    rejection = app_tokens(oauth_app)[""]["rejection"]
    assert "AADSTS7000222" in rejection
    [opened] = webhook.requests
    body = opened.json()
    assert (body["event"], body["state"], body["severity"]) == (KIND, "opened", "critical")
    assert body["summary"].startswith("Credentials rejected") and body["details"] == rejection
    assert body["text"].startswith("[ddenterpriseapi] CRITICAL: Credentials rejected")
    [email] = fallback_smtp.wait_for_messages(1)
    assert email.rcpt_tos == [RECIPIENT] and "AADSTS7000222" in email.message.get_content()
    assert "reauthorization_required" not in {n["event"] for n in notifications(oauth_app)}

    age_incident(oauth_app, KIND, timedelta(hours=25))
    worker_round(oauth_app)
    worker_round(oauth_app)
    assert [r.json()["state"] for r in webhook.requests] == ["opened", "reminder"]

    material = app_certificate()  # the administrator gives a certificate instead
    microsoft_server.register_app_certificate(CLIENT[0], material.certificate_pem)
    save_oauth_settings(oauth_app, client_certificate=material.pem)
    worker_round(oauth_app)
    assert [r.json()["state"] for r in webhook.requests] == ["opened", "reminder", "resolved"]
    assert webhook.requests[2].json()["text"].startswith("[ddenterpriseapi] RESOLVED: Credentials rejected")
    assert incidents(oauth_app) == [{"kind": KIND, "open": False, "severity": "critical"}]
    assert app_tokens(oauth_app)[""]["rejection"] is None and outbox_size(oauth_app) == 0


def test_a_revoked_delegation_is_told_and_a_successful_token_resolves_it(
        google_service_account, google_server, oauth_app, notify, webhook):
    _smtp, account = google_service_account
    notify.save(webhooks=[webhook.url], recipients=[])
    google_server.revoke_domain_wide_delegation(account.client_id)
    worker_round(oauth_app)
    [opened] = webhook.requests
    assert opened.json()["event"] == KIND and opened.json()["details"].startswith(
        "The provider refused the application's credentials.")
    google_server.grant_domain_wide_delegation(account.client_id, "https://mail.google.com/")
    with oauth_app.app_context():  # REJECTION_RECHECK later, the next token call finds the delegation back
        db.session.query(AppToken).update({"rejected_at": datetime.now(UTC) - timedelta(hours=1)})
        db.session.commit()
    worker_round(oauth_app)
    assert [r.json()["state"] for r in webhook.requests] == ["opened", "resolved"]
    assert [call["ok"] for call in google_server.app_token_requests()] == [False, True]


def test_a_leftover_delegated_connection_is_neither_watched_nor_refreshed(
        microsoft_application, microsoft_server, oauth_app, notify, webhook):
    notify.save(webhooks=[webhook.url], recipients=[])
    with oauth_app.app_context():
        db.session.add(OAuthConnection(provider="microsoft", refresh_token="left over from delegated sign-in",
                                       authorized_at=datetime.now(UTC) - timedelta(days=3)))
        db.session.commit()
    worker_round(oauth_app)  # a day past its last refresh: delegated sign-in would refresh it now
    assert [call["grant_type"] for call in microsoft_server.token_requests] == ["client_credentials"]
    with oauth_app.app_context():
        db.session.get(OAuthConnection, 1).reauthorization_error = "The provider refused the refresh token."
        db.session.commit()
    run_checks(oauth_app)
    assert webhook.requests == [] and incidents(oauth_app) == []
