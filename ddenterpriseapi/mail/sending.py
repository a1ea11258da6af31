"""Sending: the transport and credential source the saved settings call for, delivery with the outcome recorded,
and the test email."""

import time
from dataclasses import replace

from flask_babel import gettext as _

from ..console_error import ConsoleError
from ..extensions import db
from ..models import MailServer, OAuthSettings
from ..oauth.errors import OAuthError
from ..oauth.settings import get_settings, provider_of
from ..oauth.source import credential_source
from ..providers import SMTP, TRANSPORT_LABELS, Provider
from ..runtime import Runtime
from ..said import said
from .api_transport import ApiTransport
from .errors import InvalidMessage, MailError, MailNotConfigured
from .message import Draft, address_problem, build_message, message_bytes
from .server import get_mail_server, server_settings
from .smtp import Trace
from .smtp_transport import SmtpLogin, SmtpTransport
from .status import record_outcome
from .transport import Envelope, Transport, deliver_all


def transport_for(mail: MailServer, runtime: Runtime, deadline: float | None = None) -> Transport:
    """The saved email server's transport, signing in as its authentication says (OAuth: with the credential
    source of the saved OAuth parameters, at the provider's server unless another was typed, or through the
    provider's HTTPS API when that is the transport chosen)."""
    login = SmtpLogin(mail.authentication, mail.username or "", mail.password)
    if mail.authentication != "oauth":
        return SmtpTransport(server_settings(mail, runtime, None, deadline), login)
    oauth = get_settings()
    provider = provider_of(oauth, runtime.providers)
    if mail.transport not in (None, SMTP):  # None: a row not saved yet
        return api_transport(mail, oauth, provider, runtime, deadline)
    server = server_settings(mail, runtime, provider, deadline)
    login = replace(login, source=credential_source(oauth, runtime), host=server.host,  # the token's provider: the
                    registry={**runtime.providers, provider.key: provider},  # saved one, in its national cloud
                    custom_hosts=oauth.smtp_hosts)
    return SmtpTransport(server, login)


def api_transport(mail: MailServer, oauth: OAuthSettings, provider: Provider, runtime: Runtime,
                  deadline: float | None) -> ApiTransport:
    """The provider's HTTPS API as the transport, with tokens for its resource; MailNotConfigured when the provider
    offers no such API (the provider changed since the transport was chosen)."""
    if mail.transport != provider.mail_api:
        raise MailNotConfigured(said("transport_not_offered", transport=TRANSPORT_LABELS.get(mail.transport, "?"),
                                     provider=str(provider.label)))
    return ApiTransport(mail.transport, provider.api_url, credential_source(oauth, runtime, mail.transport),
                        mail.username or "", runtime.smtp_timeout, runtime.smtp_ca_bundle, deadline)


def with_server_sender(draft: Draft, mail: MailServer, mailbox: str) -> Draft:
    """The draft with the email server's sender where it names none: the configured address, else the mailbox
    that authenticates."""
    return replace(draft, sender=draft.sender or server_sender(mail, mailbox),
                   sender_name=draft.sender_name or mail.sender_name)


def server_sender(mail: MailServer, mailbox: str) -> str:
    """The sender of drafts that name none; InvalidMessage saying where it came from when the mailbox's address
    cannot be used (the Sender address was checked when it was typed)."""
    if mail.sender_address or not mailbox:
        return mail.sender_address or mailbox
    problem = address_problem(mailbox)
    if problem:
        raise InvalidMessage(said("unusable_sender", address=mailbox, reason=problem,
                                  origin="username" if mail.username else "account"), "from")
    return mailbox


def envelope_for(draft: Draft) -> Envelope:
    """The draft built into a message (InvalidMessage when it cannot be), ready for the wire."""
    message = build_message(draft)
    envelope = [draft.sender, *draft.recipients]
    return Envelope(message_bytes(message, envelope), draft.sender, draft.recipients, message["Message-ID"])


def send_drafts(runtime: Runtime, drafts: list[Draft], trace: Trace | None = None) -> list[str]:
    """Send messages in one batch of the saved email server; their Message-IDs."""
    mail = get_mail_server()
    return deliver_drafts(transport_for(mail, runtime), mail, drafts, trace or Trace())


def deliver_drafts(transport: Transport, mail: MailServer, drafts: list[Draft], trace: Trace,
                   test: bool = False) -> list[str]:
    """Send messages in one batch of the transport; their Message-IDs. Records the outcome for the dashboard."""
    try:
        drafts = [with_server_sender(draft, mail, transport.mailbox()) for draft in drafts]
        envelopes = [envelope_for(draft) for draft in drafts]  # refuse bad input before connecting
        db.session.rollback()  # hold no database transaction open while talking to the provider
        deliver_all(transport, envelopes, trace)
    except ConsoleError as error:
        trace.failed(error)
        if isinstance(error, (MailError, OAuthError)):
            record_outcome(error.message, test)
        raise
    record_outcome(None, test)
    return [envelope.message_id for envelope in envelopes]


def send_test_email(runtime: Runtime, recipient: str, trace: Trace, requested_by: str = "the command line") -> str:
    """Send the test email through the real path, the whole conversation within SMTP_TIMEOUT; its Message-ID."""
    mail = get_mail_server()
    transport = transport_for(mail, runtime, deadline=time.monotonic() + runtime.smtp_timeout)
    draft = Draft(
        to=[recipient],
        subject=_("ddenterpriseapi test email"),
        text=_("This test email was sent by ddenterpriseapi at the request of %(requester)s.\n\n"
               "%(route)s, authentication: %(authentication)s.\n"
               "If you can read this, the email server settings work.",
               requester=requested_by, route=route_of(transport), authentication=mail.authentication),
    )
    return deliver_drafts(transport, mail, [draft], trace, test=True)[0]


def route_of(transport: Transport) -> str:
    """Where the test email went, for its text."""
    if isinstance(transport, ApiTransport):
        return _("Transport: %(api)s (%(url)s)", api=transport.label, url=transport.url)
    server = transport.server
    return _("SMTP server: %(host)s:%(port)s (%(security)s)", host=server.host, port=server.port,
             security=server.security)
