"""What the notification tests share: driving the Notifications page, running the checks as the worker does, and
reading what was recorded."""

import html
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from ddenterpriseapi.extensions import db
from ddenterpriseapi.models import Incident, Notification, OAuthConnection, OAuthSettings
from ddenterpriseapi.notify.watch import check_everything
from tests.helpers import submit

PAGE = "/ddenterpriseapi/configuration/notifications"
FALLBACK_LOGIN = ("alerts@example.net", "fallback mailbox password")
RECIPIENT = "oncall@example.org"


class NotifyActions:
    """Fill in and submit the Notifications page as an administrator."""

    def __init__(self, client):
        self.client = client

    def save(self, webhooks=(), recipients=(RECIPIENT,), fallback=None, button="save", **fields):
        """Submit the form; fallback is an SMTPTestServer that takes FALLBACK_LOGIN."""
        data = {"webhook_urls": "\n".join(webhooks), "recipients": "\n".join(recipients),
                "fallback_security": "none", button: "1"}
        if fallback is not None:
            data.update(fallback_host=fallback.host, fallback_port=str(fallback.port),
                        fallback_security=fallback.security, fallback_username=FALLBACK_LOGIN[0],
                        fallback_password=FALLBACK_LOGIN[1])
        data.update(fields)
        return submit(self.client, PAGE, {k: v for k, v in data.items() if v is not None})

    def send_test(self, **kwargs) -> str:
        """Save and click Send a test notification; the page that comes back, as text."""
        response = self.save(button="send_test", **kwargs)
        assert response.status_code == 200, response.status_code
        return html.unescape(response.get_data(as_text=True))


def run_checks(app, moment: datetime | None = None) -> None:
    """Every check, as the delivery worker runs it once a minute."""
    with app.app_context():
        check_everything(app.extensions["dde_runtime"], moment or datetime.now(UTC))


def notifications(app) -> list[dict]:
    """What was recorded as sent, oldest first."""
    with app.app_context():
        return [{"event": row.event, "state": row.state, "channel": row.channel, "destination": row.destination,
                 "ok": row.ok, "detail": row.detail}
                for row in db.session.scalars(select(Notification).order_by(Notification.id))]


def incidents(app) -> list[dict]:
    with app.app_context():
        return [{"kind": row.kind, "open": row.open_key is not None, "severity": row.severity}
                for row in db.session.scalars(select(Incident).order_by(Incident.id))]


def age_incident(app, kind: str, by: timedelta) -> None:
    """Move an open incident's clock back, as if it had opened (and was last told and seen) that much earlier."""
    with app.app_context():
        incident = db.session.scalar(select(Incident).where(Incident.open_key == kind))
        incident.opened_at -= by
        incident.last_notified_at -= by
        incident.last_seen_at -= by
        db.session.commit()


def age_authorization(app, by: timedelta) -> None:
    with app.app_context():
        connection = db.session.get(OAuthConnection, 1)
        connection.authorized_at -= by
        db.session.commit()


def oauth_settings(app) -> dict:
    with app.app_context():
        row = db.session.get(OAuthSettings, 1)
        return {"expires": row.client_secret_expires_on, "testing": row.app_in_testing}
