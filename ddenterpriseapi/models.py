"""Database models: administrators and their sessions, OAuth parameters, tokens and pending authorizations, the mail
server, delivery status, API keys and the audit log."""

from datetime import UTC, datetime

from flask_login import UserMixin
from sqlalchemy import DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from .crypto import EncryptedText
from .extensions import db


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
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, onupdate=utcnow)


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
    authorized_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_refresh_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reauthorization_error: Mapped[str | None] = mapped_column(Text)
    # Who is refreshing, until when: the refresh runs without holding the row lock, one refresher at a time.
    refresh_lease_owner: Mapped[str | None] = mapped_column(String(32))
    refresh_lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def needs_reauthorization(self) -> bool:
        return self.reauthorization_error is not None


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
    host: Mapped[str | None] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(default=587)
    security: Mapped[str] = mapped_column(String(10), default="starttls")
    sender_address: Mapped[str | None] = mapped_column(String(320))
    sender_name: Mapped[str | None] = mapped_column(String(255))
    authentication: Mapped[str] = mapped_column(String(10), default="oauth")
    username: Mapped[str | None] = mapped_column(String(320))
    password: Mapped[str | None] = mapped_column(EncryptedText)
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
    """A key another program sends mail with; only its hash is kept."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(64))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEvent(db.Model):
    """Who did what and when: setting changes (names only, never values), authorizations, sends, logins."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(50), index=True)
    detail: Mapped[str | None] = mapped_column(Text)
    ip: Mapped[str | None] = mapped_column(String(45))
