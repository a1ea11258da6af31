"""Sending: the transport and credential source the saved settings call for, delivery with the outcome recorded,
and the test email."""

from dataclasses import replace

from flask_babel import gettext as _

from ..extensions import db
from ..models import MailServer
from ..oauth.errors import OAuthError
from ..oauth.settings import get_settings
from ..oauth.source import credential_source
from ..runtime import Runtime
from .errors import MailError
from .message import Draft, build_message, message_bytes
from .server import get_mail_server, server_settings
from .smtp import Trace
from .smtp_transport import SmtpLogin, SmtpTransport
from .status import record_outcome
from .transport import Envelope, Transport, deliver_all


def transport_for(mail: MailServer, runtime: Runtime) -> Transport:
    """The saved email server's transport, signing in as its authentication says (OAuth: with the credential
    source of the saved OAuth parameters)."""
    server = server_settings(mail, runtime)
    login = SmtpLogin(mail.authentication, mail.username or "", mail.password)
    if mail.authentication == "oauth":
        oauth = get_settings()
        login = replace(login, source=credential_source(oauth, runtime), host=mail.host,
                        registry=runtime.providers, custom_hosts=oauth.smtp_hosts)
    return SmtpTransport(server, login)


def with_server_sender(draft: Draft, mail: MailServer, mailbox: str) -> Draft:
    """The draft with the email server's sender where it names none: the configured address, else the mailbox
    that authenticates."""
    return replace(draft, sender=draft.sender or mail.sender_address or mailbox,
                   sender_name=draft.sender_name or mail.sender_name)


def envelope_for(draft: Draft) -> Envelope:
    """The draft built into a message (InvalidMessage when it cannot be), ready for the wire."""
    message = build_message(draft)
    envelope = [draft.sender, *draft.recipients]
    return Envelope(message_bytes(message, envelope), draft.sender, draft.recipients, message["Message-ID"])


def send_drafts(runtime: Runtime, drafts: list[Draft], trace: Trace | None = None, test: bool = False) -> list[str]:
    """Send messages in one batch of the transport; their Message-IDs. Records the outcome for the dashboard."""
    trace = trace or Trace()
    mail = get_mail_server()
    transport = transport_for(mail, runtime)
    try:
        drafts = [with_server_sender(draft, mail, transport.mailbox()) for draft in drafts]
        envelopes = [envelope_for(draft) for draft in drafts]  # refuse bad input before connecting
        db.session.rollback()  # hold no database transaction open while talking to the provider
        deliver_all(transport, envelopes, trace)
    except (MailError, OAuthError) as error:
        if isinstance(error, MailError):
            trace.failed(error)
        record_outcome(error.message, test)
        raise
    record_outcome(None, test)
    return [envelope.message_id for envelope in envelopes]


def send_test_email(runtime: Runtime, recipient: str, trace: Trace, requested_by: str = "the command line") -> str:
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
    return send_drafts(runtime, [draft], trace, test=True)[0]
