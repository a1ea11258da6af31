"""Sending: the credentials of the moment, an authenticated SMTP client (tried once more after a refused token),
delivery, and the test email."""

from dataclasses import replace

from flask_babel import gettext as _

from ..extensions import db
from ..models import MailServer, OAuthConnection
from ..oauth.errors import OAuthError
from ..oauth.settings import get_settings
from ..oauth.tokens import get_access_token, get_connection
from ..providers import providers
from . import smtp
from .errors import MailError, MailNotConfigured
from .message import Draft, build_message
from .policy import token_host_problem
from .server import get_mail_server, server_settings
from .smtp import Credentials, ServerSettings, Trace
from .status import record_outcome


def check_token_destination(host: str, connection: OAuthConnection) -> None:
    """An access token goes only to the SMTP servers of the provider that issued it (Custom: the listed ones)."""
    provider = providers()[connection.provider]
    problem = token_host_problem(host, provider, get_settings().smtp_hosts if provider.editable_endpoints else None)
    if problem:
        raise MailNotConfigured(problem)


def credentials(mail: MailServer, rejected: str | None = None) -> Credentials:
    """How to authenticate now; for OAuth, a valid access token (refreshed if needed)."""
    if mail.authentication == "password":
        if not mail.password:
            raise MailNotConfigured(_("No SMTP password is stored: type it on the email server page."))
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


def open_client(mail: MailServer, server: ServerSettings, creds: Credentials, trace: Trace):
    """An authenticated SMTP client; a refused OAuth token is refreshed and tried once more."""
    client = smtp.connect(server, trace)
    try:
        smtp.authenticate(client, creds, trace)
        return client
    except MailError as error:
        smtp.close(client)
        if not error.token_rejected:
            raise
        trace.failed(error)
    creds = credentials(mail, rejected=creds.secret)
    client = smtp.connect(server, trace)
    try:
        smtp.authenticate(client, creds, trace)
    except MailError:
        smtp.close(client)
        raise
    return client


def send_drafts(drafts: list[Draft], trace: Trace | None = None, test: bool = False) -> list[str]:
    """Send messages over one SMTP connection; their Message-IDs. Records the outcome for the dashboard."""
    trace = trace or Trace()
    mail = get_mail_server()
    server = server_settings(mail)
    try:
        creds = credentials(mail)
        drafts = [with_server_sender(draft, mail, creds) for draft in drafts]
        messages = [build_message(draft) for draft in drafts]  # refuse bad input before connecting
        db.session.rollback()  # hold no database transaction open while talking to the SMTP server
        client = open_client(mail, server, creds, trace)
        try:
            for draft, message in zip(drafts, messages):
                smtp.deliver(client, message, draft.sender, draft.recipients, trace)
        finally:
            smtp.close(client)
    except (MailError, OAuthError) as error:
        if isinstance(error, MailError):
            trace.failed(error)
        record_outcome(error.message, test)
        raise
    record_outcome(None, test)
    return [message["Message-ID"] for message in messages]


def send_test_email(recipient: str, trace: Trace, requested_by: str = "the command line") -> str:
    """Send the test email through the real path; its Message-ID."""
    mail = get_mail_server()
    draft = Draft(
        to=[recipient],
        subject=_("ddenterpriseapi test email"),
        text=_("This test email was sent by ddenterpriseapi at the request of %(requester)s.\n\n"
               "SMTP server: %(host)s:%(port)s (%(security)s), authentication: %(authentication)s.\n"
               "If you can read this, the email server settings work.",
               requester=requested_by, host=mail.host, port=mail.port, security=mail.security,
               authentication=mail.authentication),
    )
    return send_drafts([draft], trace, test=True)[0]
