"""Database models: administrators and their sessions, OAuth parameters, tokens and pending authorizations, the mail
server, delivery status, API keys, the audit log, the outbox with its attempts, idempotent requests, worker
heartbeats and purged totals, and the notifications: where they go, the incidents they tell of, and what was sent."""

from datetime import UTC, date, datetime

from flask_login import UserMixin
from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from .crypto import EncryptedBytes, EncryptedText
from .extensions import db
from .said import Said, read_stored


def utcnow() -> datetime:
    """Now, timezone-aware, for column defaults."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp stored as UTC and always read back timezone-aware (SQLite drops the zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return None if value is None else value.replace(tzinfo=UTC)


class Admin(UserMixin, db.Model):
    """An administrator of the console."""

    __table_args__ = {"sqlite_autoincrement": True}  # a removed administrator's id is never given to another

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    # The username as logins compare it (case folded, up to 3 characters for 1). None only for an account that
    # differed from an older one by case alone when usernames began to ignore case: it logs in with its exact name.
    username_key: Mapped[str | None] = mapped_column(String(192), unique=True, index=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    session_token = None  # the token of the login session this request runs in (not a column)

    def get_id(self) -> str | None:
        """Flask-Login keeps the session's random token, never something that could be issued again."""
        return self.session_token


class AdminSession(db.Model):
    """An administrator's login on one browser; the cookie holds a random token, the database only its hash."""

    __tablename__ = "admin_session"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    admin_id: Mapped[int] = mapped_column(ForeignKey("admin.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    admin: Mapped[Admin] = relationship()


class OAuthSettings(db.Model):
    """The OAuth parameters an administrator typed in (a single row)."""

    __tablename__ = "oauth_settings"

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    provider: Mapped[str] = mapped_column(String(20), default="google")
    tenant: Mapped[str | None] = mapped_column(String(255))
    authorization_url: Mapped[str | None] = mapped_column(String(2048))
    token_url: Mapped[str | None] = mapped_column(String(2048))
    scopes: Mapped[str | None] = mapped_column(String(1024))
    client_id: Mapped[str | None] = mapped_column(String(512))
    client_secret: Mapped[str | None] = mapped_column(EncryptedText)
    redirect_uri: Mapped[str | None] = mapped_column(String(2048))
    smtp_hosts: Mapped[str | None] = mapped_column(String(1024))  # Custom: the SMTP servers its tokens may go to
    client_secret_expires_on: Mapped[date | None]  # as the provider showed it (Azure does), for the warnings
    app_in_testing: Mapped[bool] = mapped_column(default=False, server_default=false())  # Google: tokens die at 7 days
    # App-only sign-in: who signs in (a person, the application, a service account), in which national cloud.
    sign_in: Mapped[str] = mapped_column(String(20), default="delegated", server_default="delegated")
    cloud: Mapped[str] = mapped_column(String(20), default="global", server_default="global")
    client_certificate: Mapped[str | None] = mapped_column(EncryptedText)  # PEM: private key and certificate
    service_account_key: Mapped[str | None] = mapped_column(EncryptedText)  # Google's JSON key file, whole
    mailboxes: Mapped[str | None] = mapped_column(Text)  # the mailboxes app-only sign-in sends as, one per line
    unlisted_sender: Mapped[str] = mapped_column(String(20), default="refuse", server_default="refuse")
    enterprise_object_id: Mapped[str | None] = mapped_column(String(64))  # Entra's Enterprise application, for Exchange
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, onupdate=utcnow)


class AppToken(db.Model):
    """An access token cached for every process apart from the authorization's own. App-only sign-in: no refresh
    token comes with it, the same grant gives the next one; keyed "" for Microsoft's application-wide token, by the
    mailbox for a Google service account's (one per mailbox it acts as), by the scope for Microsoft Graph's. A
    person's token for a second resource (Microsoft Graph): keyed "delegated <scope>", refreshed from the
    authorization's refresh token."""

    __tablename__ = "app_token"

    key: Mapped[str] = mapped_column(String(320), primary_key=True)
    access_token: Mapped[str | None] = mapped_column(EncryptedText)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    obtained_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejection: Mapped[str | None] = mapped_column(Text)  # the token endpoint refused the credentials: why, the fix
    rejected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Who is asking the provider, until when: one token call at a time, without holding the row lock.
    lease_owner: Mapped[str | None] = mapped_column(String(32))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OAuthConnection(db.Model):
    """The tokens won by authorizing, and the health of the connection (a single row)."""

    __tablename__ = "oauth_connection"

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    provider: Mapped[str] = mapped_column(String(20))
    account_email: Mapped[str | None] = mapped_column(String(320))
    refresh_token: Mapped[str | None] = mapped_column(EncryptedText)
    access_token: Mapped[str | None] = mapped_column(EncryptedText)
    access_token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    granted_scopes: Mapped[str | None] = mapped_column(Text)
    # What the authorization asked for, every resource's: a Microsoft token names only its own resource's scopes.
    consented_scopes: Mapped[str | None] = mapped_column(Text)
    authorized_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_refresh_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reauthorization_error: Mapped[str | None] = mapped_column(Text)
    # Who is refreshing, until when: the refresh runs without holding the row lock, one refresher at a time.
    refresh_lease_owner: Mapped[str | None] = mapped_column(String(32))
    refresh_lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def needs_reauthorization(self) -> bool:
        return self.reauthorization_error is not None

    @property
    def reauthorization_reason(self) -> Said | None:
        """Why only a new authorization can help, worded in the reader's language."""
        return read_stored(self.reauthorization_error)

    @property
    def access_token_expired(self) -> bool:
        """Its lifetime has passed: usual between sends, the next send fetches another."""
        return self.access_token_expires_at is not None and self.access_token_expires_at <= utcnow()


class PendingAuthorization(db.Model):
    """An authorization request in flight: its state, PKCE verifier, the session it belongs to, and the
    parameters it was sent with (the code is exchanged with exactly those, whatever is saved meanwhile)."""

    __tablename__ = "pending_authorization"

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    code_verifier: Mapped[str] = mapped_column(EncryptedText)
    session_binding: Mapped[str] = mapped_column(String(64))
    redirect_uri: Mapped[str] = mapped_column(String(2048))
    provider: Mapped[str] = mapped_column(String(20), server_default="")
    authorization_url: Mapped[str] = mapped_column(String(2048), server_default="")
    token_url: Mapped[str] = mapped_column(String(2048), server_default="")
    client_id: Mapped[str] = mapped_column(String(512), server_default="")
    scopes: Mapped[str] = mapped_column(String(1024), server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MailServer(db.Model):
    """How mail leaves: the SMTP server, the sender, the authentication (a single row)."""

    __tablename__ = "mail_server"

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    # With OAuth, a blank host, port or security is the provider's: it follows a change of provider.
    host: Mapped[str | None] = mapped_column(String(255))
    port: Mapped[int | None]
    security: Mapped[str | None] = mapped_column(String(10))
    sender_address: Mapped[str | None] = mapped_column(String(320))
    sender_name: Mapped[str | None] = mapped_column(String(255))
    authentication: Mapped[str] = mapped_column(String(10), default="oauth")
    username: Mapped[str | None] = mapped_column(String(320))
    password: Mapped[str | None] = mapped_column(EncryptedText)
    # The From of relayed messages: "keep" the client's, or "mailbox": send as the email server's sender, the
    # client's From kept in Reply-To (for a mailbox without Send As on the addresses its programs use).
    relay_sender: Mapped[str] = mapped_column(String(10), default="keep", server_default="keep")
    # What carries messages: "smtp", or the provider's HTTPS API ("graph", "gmail_api") when SMTP is closed.
    transport: Mapped[str] = mapped_column(String(10), default="smtp", server_default="smtp")
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, onupdate=utcnow)


class DeliveryStatus(db.Model):
    """The outcome of the latest sends, for the dashboard (a single row)."""

    __tablename__ = "delivery_status"

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_test_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_test_ok: Mapped[bool | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiKey(db.Model):
    """A key another program sends mail with, through the API, the SMTP relay or both; only its hash is kept."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(64))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    scope: Mapped[str] = mapped_column(String(10), default="both", server_default="both")  # api, relay or both


class AuditEvent(db.Model):
    """Who did what and when: setting changes (names only, never values), authorizations, sends, logins."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(50), index=True)
    detail: Mapped[str | None] = mapped_column(Text)  # text that needs no words; older events' details as written
    wording: Mapped[str | None] = mapped_column(String(50))  # how the details read, in the reader's language
    params: Mapped[dict | None] = mapped_column(JSON)  # the values the wording fills in
    ip: Mapped[str | None] = mapped_column(String(45))


class OutboxMessage(db.Model):
    """A message accepted for delivery: committed (its body encrypted) before the client hears "accepted", and
    kept as a record of what happened to it once sent or failed."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_message_due", "status", "next_attempt_at"),  # what the workers claim
        # The Outbox page lists one status newest first (without it, filtering sent mail sorts every sent row);
        # the health check finds each status's oldest message.
        Index("ix_outbox_message_status_id", "status", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    origin: Mapped[str] = mapped_column(String(10), default="api")  # api, relay, alert
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_key.id", ondelete="SET NULL"), index=True)
    submitted_by: Mapped[str] = mapped_column(String(100), default="")
    message_id: Mapped[str] = mapped_column(String(255))
    sender: Mapped[str] = mapped_column(String(320))
    recipients: Mapped[list] = mapped_column(JSON)
    subject: Mapped[str] = mapped_column(String(255), default="")
    size: Mapped[int] = mapped_column(default=0)
    body: Mapped[bytes | None] = mapped_column(EncryptedBytes)  # the MIME message; deleted once sent
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow)  # None: held for a fix
    last_error: Mapped[str | None] = mapped_column(Text)
    last_reply: Mapped[str | None] = mapped_column(Text)
    refused_recipients: Mapped[dict | None] = mapped_column(JSON)  # address: the server's reply
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)  # sent, failed or cancelled
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempt_log: Mapped[list["OutboxAttempt"]] = relationship(
        back_populates="message", cascade="all, delete-orphan", passive_deletes=True,
        order_by="OutboxAttempt.id")


class OutboxAttempt(db.Model):
    """One delivery attempt of an outbox message, with the server's reply."""

    __tablename__ = "outbox_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("outbox_message.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    outcome: Mapped[str] = mapped_column(String(10))  # sent, deferred, held, failed
    detail: Mapped[str] = mapped_column(Text, default="")
    worker: Mapped[str] = mapped_column(String(64), default="")
    message: Mapped[OutboxMessage] = relationship(back_populates="attempt_log")


class IdempotentRequest(db.Model):
    """An API request sent with an Idempotency-Key: the same key and body within a day get the first answer."""

    __tablename__ = "idempotent_request"
    __table_args__ = (UniqueConstraint("api_key_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_key.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class WorkerHeartbeat(db.Model):
    """A delivery worker's sign of life, written every few seconds, so the pages can say when none runs."""

    __tablename__ = "worker_heartbeat"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # host:pid
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class OutboxTotals(db.Model):
    """How many sent and failed messages the retention purge removed (a single row): the sent and failed totals
    add them to the rows still kept, so they never go down."""

    __tablename__ = "outbox_totals"

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    sent_purged: Mapped[int] = mapped_column(default=0)
    failed_purged: Mapped[int] = mapped_column(default=0)


class NotificationSettings(db.Model):
    """Who hears about incidents: webhooks, email recipients and the fallback server for alert emails; and when the
    checks last looked (a single row)."""

    __tablename__ = "notification_settings"

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    webhook_urls: Mapped[str | None] = mapped_column(EncryptedText)  # one per line; Slack's and Teams' hold a secret
    recipients: Mapped[str | None] = mapped_column(Text)  # one per line
    fallback_host: Mapped[str | None] = mapped_column(String(255))
    fallback_port: Mapped[int] = mapped_column(default=25)
    fallback_security: Mapped[str] = mapped_column(String(10), default="none")
    fallback_username: Mapped[str | None] = mapped_column(String(320))
    fallback_password: Mapped[str | None] = mapped_column(EncryptedText)
    fallback_sender: Mapped[str | None] = mapped_column(String(320))
    failures_seen_until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # failed messages up to here are told
    worker_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the web processes' turn, once a minute
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Incident(db.Model):
    """A condition that needs someone (re-authorization required, no worker, ...), from when it opened to when it
    ended. open_key holds the kind while it lasts: a unique key, so only one process can open it."""

    __tablename__ = "incident"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    open_key: Mapped[str | None] = mapped_column(String(40), unique=True)  # None once resolved
    severity: Mapped[str] = mapped_column(String(10))
    summary: Mapped[str] = mapped_column(Text)
    details: Mapped[str] = mapped_column(Text, default="")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # the condition last held
    last_notified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Notification(db.Model):
    """One notification to one destination (a webhook, or the email to the recipients) and how it went."""

    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id", ondelete="SET NULL"), index=True)
    event: Mapped[str] = mapped_column(String(40))  # the incident's kind, or "test"
    state: Mapped[str] = mapped_column(String(10))  # opened, reminder, resolved, test
    summary: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(10))  # webhook, outbox, fallback; email when no route could take it
    destination: Mapped[str] = mapped_column(String(2048))  # the webhook without its secret path, or the addresses
    ok: Mapped[bool]
    detail: Mapped[str] = mapped_column(Text, default="")
