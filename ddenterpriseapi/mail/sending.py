"""The one sending service behind the test button, the CLI and the API."""

from dataclasses import replace
from datetime import UTC, datetime

from flask import current_app
from flask_babel import gettext as _

from ..database import locked_singleton
from ..extensions import db
from ..models import DeliveryStatus, MailServer, OAuthConnection
from ..oauth.connection import get_connection
from ..oauth.errors import OAuthError
from ..oauth.settings import get_settings
from ..oauth.tokens import get_access_token
from ..providers import providers
from ..validation import private_address_problem
from . import smtp
from .errors import MailError
from .message import Draft, build_message
from .policy import plaintext_auth_problem, token_host_problem
from .smtp import Credentials, ServerSettings, Trace


def get_mail_server() -> MailServer:
    """The saved email server, or unsaved defaults."""
    return db.session.get(MailServer, 1) or MailServer(id=1, port=587, security="starttls", authentication="oauth")


def server_settings(mail: MailServer) -> ServerSettings:
    """Where to connect, or a MailError when the email server was never configured or may not be used."""
    if not mail.host:
        raise MailError(_("Configure the email server first: SMTP host, port and security."), "config")
    problem = destination_problem(mail)
    if problem:
        raise MailError(problem, "config")
    return ServerSettings(mail.host, mail.port, mail.security, current_app.config["SMTP_TIMEOUT"],
                          current_app.config["SMTP_CA_BUNDLE"])


def destination_problem(mail: MailServer) -> str | None:
    """Why the saved server may not get the credentials, checked again at every send: the settings may predate
    these rules, and a host name may resolve elsewhere since it was saved."""
    return (plaintext_auth_problem(mail.host, mail.security, mail.authentication)
            or (current_app.config["BLOCK_PRIVATE_NETWORKS"] and private_address_problem(mail.host))
            or None)


def check_token_destination(host: str, connection: OAuthConnection) -> None:
    """An access token goes only to the SMTP servers of the provider that issued it (Custom: the listed ones)."""
    provider = providers()[connection.provider]
    problem = token_host_problem(host, provider, get_settings().smtp_hosts if provider.editable_endpoints else None)
    if problem:
        raise MailError(problem, "config")


def credentials(mail: MailServer, rejected: str | None = None) -> Credentials:
    """How to authenticate now; for OAuth, a valid access token (refreshed if needed)."""
    if mail.authentication == "password":
        if not mail.password:
            raise MailError(_("No SMTP password is stored: type it on the email server page."), "config")
        return Credentials("password", mail.username or "", mail.password)
    if mail.authentication == "oauth":
        connection = get_connection()  # held: the token manager then reads the same row without another query
        token, account = get_access_token(rejected)
        check_token_destination(mail.host, connection)
        return Credentials("oauth", mail.username or account or "", token)
    return Credentials("none")


def with_server_sender(draft: Draft, mail: MailServer, creds: Credentials) -> Draft:
    """The draft with the email server's sender where it names none: the configured address, else the mailbox
    that authenticates."""
    return replace(draft, sender=draft.sender or mail.sender_address or creds.username,
                   sender_name=draft.sender_name or mail.sender_name)


def open_session(mail: MailServer, server: ServerSettings, creds: Credentials, trace: Trace):
    """An authenticated connection; a refused OAuth token is refreshed and tried once more."""
    connection = smtp.connect(server, trace)
    try:
        smtp.authenticate(connection, creds, trace)
        return connection
    except MailError as error:
        smtp.close(connection)
        if not error.token_rejected:
            raise
        trace.failed(error)
    creds = credentials(mail, rejected=creds.secret)
    connection = smtp.connect(server, trace)
    try:
        smtp.authenticate(connection, creds, trace)
    except MailError:
        smtp.close(connection)
        raise
    return connection


def send_drafts(drafts: list[Draft], trace: Trace | None = None, test: bool = False) -> list[str]:
    """Send messages over one connection; their Message-IDs. Records the outcome for the dashboard."""
    trace = trace or Trace()
    mail = get_mail_server()
    server = server_settings(mail)
    try:
        creds = credentials(mail)
        drafts = [with_server_sender(draft, mail, creds) for draft in drafts]
        messages = [build_message(draft) for draft in drafts]  # refuse bad input before connecting
        db.session.rollback()  # hold no database transaction open while talking to the SMTP server
        connection = open_session(mail, server, creds, trace)
        try:
            for draft, message in zip(drafts, messages):
                smtp.deliver(connection, message, draft.sender, draft.recipients, trace)
        finally:
            smtp.close(connection)
    except (MailError, OAuthError) as error:
        if isinstance(error, MailError):
            trace.failed(error)
        record_outcome(error.message, test)
        raise
    record_outcome(None, test)
    return [message["Message-ID"] for message in messages]


def record_outcome(error: str | None, test: bool) -> None:
    """Remember the latest success or failure, so a dying token cannot fail silently."""
    status = locked_singleton(DeliveryStatus)
    now = datetime.now(UTC)
    if error is None:
        status.last_success_at = now
    else:
        status.last_error, status.last_error_at = error, now
    if test:
        status.last_test_at, status.last_test_ok = now, error is None
    db.session.commit()


def get_delivery_status() -> DeliveryStatus | None:
    return db.session.get(DeliveryStatus, 1)
