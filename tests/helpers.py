"""What the tests share: the accounts they use, CSRF-aware form posts, the actions an administrator takes, and
outbox rows and scraped metrics."""

import html
import re
import secrets
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default as modern_email

from alembic.migration import MigrationContext
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from ddenterpriseapi.auth.accounts import create_admin
from ddenterpriseapi.database import migration_scripts
from ddenterpriseapi.extensions import db, limiter
from ddenterpriseapi.models import (
    AuditEvent,
    OAuthConnection,
    OAuthSettings,
    OutboxAttempt,
    OutboxMessage,
    WorkerHeartbeat,
)
from ddenterpriseapi.outbox.policy import OutboxPolicy
from ddenterpriseapi.outbox.statuses import FINAL, SENT
from ddenterpriseapi.outbox.worker import Worker
from ddenterpriseapi.runtime import Runtime

ADMIN = ("admin", "correct horse battery")
CALLBACK = "http://localhost/ddenterpriseapi/v2/oauth/redirect"  # as the test client addresses the console
MAILBOX = ("reports@example.com", "mailbox password")
CLIENT = ("console-client", "console-client-secret-value")
CSRF_FIELD = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')
NO_TABLES = 'The database has no tables yet: run "flask --app ddenterpriseapi db upgrade" first.'


def reconfigure(app, **settings) -> None:
    """Change settings as a restart with them would: the config, and the Runtime the services are given."""
    app.config.update(settings)
    runtime = app.extensions["dde_runtime"]
    app.extensions["dde_runtime"] = Runtime.from_config(app.config, runtime.providers, runtime.vault)


def csrf_from(response) -> str:
    """The CSRF token a page embeds, as a browser would submit it."""
    match = CSRF_FIELD.search(response.get_data(as_text=True))
    assert match, "the page has no CSRF token"
    return match.group(1) or match.group(2)


def submit(client, path, data, **kwargs):
    """GET a page, then POST its form with the page's CSRF token, like a browser."""
    token = csrf_from(client.get(path))
    return client.post(path, data={**data, "csrf_token": token}, **kwargs)


def flashes(page) -> str:
    return html.unescape(page.get_data(as_text=True))


class AuthActions:
    """Create the administrator and log in through the real login form."""

    def __init__(self, app, client):
        self.app, self.client = app, client

    def create(self, username=ADMIN[0], password=ADMIN[1]):
        with self.app.app_context():
            create_admin(username, password)

    def login(self, username=ADMIN[0], password=ADMIN[1]):
        return submit(self.client, "/ddenterpriseapi/login", {"username": username, "password": password})


class OAuthActions:
    """Drive the OAuth parameters page and the provider's pages the way an administrator would."""

    PAGE = "/ddenterpriseapi/configuration/oauth"

    def __init__(self, client, server):
        self.client, self.server = client, server

    def save(self, provider="google", button="save", **fields):
        data = {"provider": provider, "client_id": CLIENT[0], "client_secret": CLIENT[1],
                "current_password": ADMIN[1], button: "1"}
        if provider == "microsoft":
            data["tenant"] = "contoso.onmicrosoft.com"
        data.update(fields)
        return submit(self.client, self.PAGE, {k: v for k, v in data.items() if v is not None})

    def authorize(self, provider="google", **fields) -> str:
        """Save and click Authorize; the provider URL the browser is sent to."""
        response = self.save(provider, button="authorize", **fields)
        assert response.status_code == 302, response.get_data(as_text=True)
        return response.headers["Location"]

    def consent(self, url: str, accept=True) -> str:
        """Sign in and answer the consent page; the console address the provider sends the browser back to."""
        return self.server.consent(url, *MAILBOX, accept=accept)

    def come_back(self, location: str):
        """The browser follows the provider's redirect to the console, then to the page it lands on."""
        assert location.startswith(CALLBACK), location
        response = self.client.get(location.removeprefix("http://localhost"))
        assert response.status_code == 302
        return self.client.get(response.headers["Location"])

    def post(self, path, **data):
        """Submit one of the page's other forms (CSRF token from the page); the page it lands on."""
        token = csrf_from(self.client.get(self.PAGE))
        response = self.client.post(path, data={**data, "csrf_token": token})
        assert response.status_code == 302, response.get_data(as_text=True)
        return self.client.get(response.headers["Location"])

    def connect(self, provider="google", **fields):
        return self.come_back(self.consent(self.authorize(provider, **fields)))


class MailActions:
    """Drive the email server page as an administrator."""

    PAGE = "/ddenterpriseapi/configuration/email-server"

    def __init__(self, client):
        self.client = client

    def save(self, smtp=None, button="save", **fields):
        data = {"security": "starttls", "authentication": "oauth", button: "1"}
        if smtp is not None:
            data.update(host=smtp.host, port=str(smtp.port), security=smtp.security)
        data.update(fields)
        return submit(self.client, self.PAGE, {k: v for k, v in data.items() if v is not None})

    def send_test(self, smtp=None, recipient="boss@example.org", **fields) -> str:
        """Save, click Send test email; the page text that comes back."""
        response = self.save(smtp, button="send_test", test_recipient=recipient, **fields)
        assert response.status_code == 200, response.status_code
        return html.unescape(response.get_data(as_text=True))


def start_oauth_server(shape: str, **options):
    from tests.servers.oauth_server import OAuthTestServer

    server = OAuthTestServer(shape, **options).start()
    server.add_user(*MAILBOX)
    server.register_client(*CLIENT, [CALLBACK])
    return server


def save_oauth_settings(app, **values) -> list[str]:
    """Store OAuth parameters as the OAuth page's save does, the cached app-only tokens forgotten when the credentials
    changed (app-only sign-in is not on the page yet); the names of those that changed."""
    from ddenterpriseapi.oauth.app_tokens import forget_app_tokens
    from ddenterpriseapi.oauth.settings import save_settings

    with app.app_context():
        _, changed = save_settings(values)
        forget_app_tokens(changed)
        return changed


def service_account_sign_in(app, key_file: str) -> list[str]:
    """Google service account sign-in with this key file, sending as the test mailbox."""
    return save_oauth_settings(app, provider="google", sign_in="service_account", service_account_key=key_file,
                               mailboxes=MAILBOX[0])


def app_tokens(app) -> dict[str, dict]:
    """The cached app-only tokens by key, as stored."""
    from ddenterpriseapi.models import AppToken

    with app.app_context():
        return {row.key: {"access_token": row.access_token, "expires_at": row.expires_at,
                          "rejection": row.rejection} for row in db.session.query(AppToken)}


def age_app_tokens(app) -> None:
    """The cached hour-long app-only tokens now expire within the refresh margin."""
    from ddenterpriseapi.models import AppToken

    with app.app_context():
        for row in db.session.query(AppToken):
            row.expires_at = datetime.now(UTC) + timedelta(seconds=10)
            row.obtained_at = datetime.now(UTC) - timedelta(hours=1)
        db.session.commit()


def worker_round(app) -> None:
    """One round of a new delivery worker's duties: each is due, the token check and the notification checks too."""
    with app.app_context():
        Worker(app.extensions["dde_runtime"], FAST_OUTBOX, threading.Event(), "test-worker").step()


def prepare(app):
    """The schema as `db upgrade` leaves it (so the CLI accepts the database), rate limits counted from zero."""
    with app.app_context():
        db.create_all()
        limiter.reset()  # the rate limits count per test, not across the suite
        with db.engine.begin() as connection:
            MigrationContext.configure(connection).stamp(migration_scripts(), "heads")
    return app


def dispose(apps):
    for app in apps:
        with app.app_context():
            db.engine.dispose()


def stored_connection(app):
    with app.app_context():
        connection = db.session.get(OAuthConnection, 1)
        return None if connection is None else {
            "refresh_token": connection.refresh_token, "access_token": connection.access_token,
            "account": connection.account_email, "scopes": connection.granted_scopes,
            "expires_at": connection.access_token_expires_at,
        }


def refreshes(oauth) -> list[dict]:
    return [call for call in oauth.token_requests if call["grant_type"] == "refresh_token"]


def connection_row(app):
    with app.app_context():
        row = db.session.get(OAuthConnection, 1)
        return {"refresh_token": row.refresh_token, "access_token": row.access_token,
                "error": row.reauthorization_reason and str(row.reauthorization_reason),
                "last_refresh_at": row.last_refresh_at}


def age_access_token(app):
    """Make the console believe its hour-long access token expires within its refresh margin."""
    with app.app_context():
        row = db.session.get(OAuthConnection, 1)
        row.access_token_expires_at = datetime.now(UTC) + timedelta(seconds=10)
        row.authorized_at = row.last_refresh_at = datetime.now(UTC) - timedelta(hours=1)
        db.session.commit()


FAST_OUTBOX = OutboxPolicy(retry_first=0.2, retry_max=1, poll_interval=0.05, lease=timedelta(seconds=5))


class InThread:
    """A service a test runs in a thread of its own until halt(); a crash there fails the test at halt()."""

    def __init__(self):
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.failure: BaseException | None = None

    def serve(self) -> None:
        """The service itself, until self.stop is set."""
        raise NotImplementedError

    def run(self) -> None:
        try:
            self.serve()
        except BaseException as error:  # surfaced by halt(), so a crash fails the test that caused it
            self.failure = error

    def start(self):
        self.thread.start()
        return self

    def halt(self) -> None:
        self.stop.set()
        self.thread.join(10)
        assert not self.thread.is_alive(), f"{type(self).__name__} did not stop"
        if self.failure is not None:
            raise self.failure


class RunningWorker(InThread):
    """A delivery worker in a thread of the test process, retrying within a second, unpaced unless told."""

    def __init__(self, app, policy: OutboxPolicy = FAST_OUTBOX, paced: bool = False, name: str = "test-worker"):
        super().__init__()
        self.app, self.policy, self.paced, self.name = app, policy, paced, name

    def serve(self) -> None:
        runtime = self.app.extensions["dde_runtime"]
        if not self.paced:
            runtime = replace(runtime, providers={key: replace(provider, sending_rate=None)
                                                  for key, provider in runtime.providers.items()})
        with self.app.app_context():
            Worker(runtime, self.policy, self.stop, self.name).run()


def outbox_row(app, message_id: int) -> dict:
    """An outbox message's columns, read in a fresh context."""
    with app.app_context():
        row = db.session.get(OutboxMessage, message_id)
        return {column.name: getattr(row, column.name) for column in OutboxMessage.__table__.columns}


def wait_for_status(app, message_id: int, *statuses: str, timeout: float = 10) -> dict:
    """Wait until the message reaches one of these statuses; its columns then."""
    deadline = time.monotonic() + timeout
    while True:
        row = outbox_row(app, message_id)
        if row["status"] in statuses:
            return row
        assert time.monotonic() < deadline, f"message {message_id} is {row['status']}, expected {statuses}"
        time.sleep(0.05)


API_KEYS_PAGE = "/ddenterpriseapi/configuration/api-keys"
MAIL_API = "/ddenterpriseapi/v2/mail"


def age_events(app, delta: timedelta, ip=None) -> None:
    """Move the audit log's events back, as if that much time had gone by."""
    with app.app_context():
        for event in db.session.scalars(db.select(AuditEvent).filter_by(**({"ip": ip} if ip else {}))):
            event.at -= delta
        db.session.commit()


def create_api_key(client, name="reporting-server") -> str:
    """Create a key on the API keys page; the key as shown once."""
    page = client.get(API_KEYS_PAGE)
    created = client.post(API_KEYS_PAGE, data={"name": name, "csrf_token": csrf_from(page)}).get_data(as_text=True)
    return re.search(r'id="new-key" type="text" readonly value="([^"]+)"', created).group(1)


def post_mail(client, key, body, headers=None, **kwargs):
    """POST a message (or {"messages": [...]}) to the mail API with this key."""
    headers = ({"Authorization": f"Bearer {key}"} if key else {}) | (headers or {})
    return client.post(MAIL_API, json=body, headers=headers, **kwargs)


def queue_mail(client, key, subject="Daily report", to="boss@example.org", **fields) -> int:
    """Hand one message to the API; its outbox id."""
    response = post_mail(client, key, {"to": [to], "subject": subject, "text": "See attachment.", **fields})
    assert response.status_code == 202, response.get_data(as_text=True)
    return response.json["id"]


def add_rows(app, *rows) -> None:
    """Commit rows into the app's database."""
    with app.app_context():
        db.session.add_all(rows)
        db.session.commit()


def outbox_message(status: str, age: timedelta = timedelta(0)) -> OutboxMessage:
    """An outbox message in the given status, accepted `age` ago."""
    return OutboxMessage(status=status, created_at=datetime.now(UTC) - age, sender=MAILBOX[0],
                         message_id=f"<{secrets.token_hex(8)}@example.com>", recipients=["boss@example.org"])


OUTBOX_BODY = b"Subject: Weekly report\r\n\r\nBODY-NEVER-SHOWN\r\n"  # no page may show it


def add_outbox_message(app, status: str = "queued", attempts=(), **fields) -> int:
    """Commit a message as the API and the worker leave it in this status (with its content, and its finishing time
    once final), its attempts given as (outcome, detail) pairs; its id."""
    message = outbox_message(status)
    now = fields.get("created_at", message.created_at)  # a message accepted earlier finished then too
    values = {"subject": f"A {status} message", "body": OUTBOX_BODY, "size": len(OUTBOX_BODY),
              "submitted_by": "API key Reports (dde_ab12…)", "attempts": len(attempts),
              "finished_at": now if status in FINAL else None, "sent_at": now if status == SENT else None}
    for name, value in {**values, **fields}.items():
        setattr(message, name, value)
    message.attempt_log = [OutboxAttempt(outcome=outcome, detail=detail, worker="app-01:4242",
                                         at=now - timedelta(minutes=len(attempts) - number))
                           for number, (outcome, detail) in enumerate(attempts)]
    with app.app_context():
        db.session.add(message)
        db.session.commit()
        return message.id


def worker_heartbeat(age: timedelta, worker: str = "mailhost:4242") -> WorkerHeartbeat:
    """A delivery worker's heartbeat, last written `age` ago."""
    seen_at = datetime.now(UTC) - age
    return WorkerHeartbeat(id=worker, started_at=seen_at - timedelta(hours=1), seen_at=seen_at)


def metric_samples(text: str) -> dict[str, float]:
    """Every sample of a Prometheus text answer, by name and labels as written: 'x{status="sent"}'."""
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f'{name}="{value}"' for name, value in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return samples


APP_MAILBOXES = ["reports@example.com", "Billing@Example.com"]


def sign_in_as_application(app, mailboxes=APP_MAILBOXES, unlisted_sender="refuse"):
    """Switch the saved OAuth parameters to app-only sign-in with these mailboxes (the engine is not asked)."""
    with app.app_context():
        settings = db.session.get(OAuthSettings, 1)
        settings.sign_in, settings.mailboxes, settings.unlisted_sender = "service_account", "\n".join(mailboxes), \
            unlisted_sender
        db.session.commit()


def stored_message(app, outbox_id: int):
    """An outbox message's columns and its body, parsed."""
    row = outbox_row(app, outbox_id)
    return row, message_from_bytes(row["body"], policy=modern_email)


def outbox_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(OutboxMessage))
