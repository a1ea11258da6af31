"""Alert emails through the fallback server, directly and at once: the way out when the main email channel is the
thing that is broken (re-authorization required, messages deferred or failed, no worker)."""

from dataclasses import replace

from flask_babel import gettext as _

from ..mail import smtp
from ..mail.errors import MailNotConfigured
from ..mail.message import Draft
from ..mail.policy import plaintext_auth_problem
from ..mail.sending import envelope_for
from ..mail.server import get_mail_server
from ..models import NotificationSettings
from ..runtime import Runtime
from ..validation import private_address_problem


def fallback_sender(settings: NotificationSettings, server_sender: str | None) -> str | None:
    """Who alert emails come from: the fallback's sender address, else the email server's, else a username that is
    an address."""
    username = settings.fallback_username or ""
    return settings.fallback_sender or server_sender or (username if "@" in username else None)


def fallback_credentials(settings: NotificationSettings) -> smtp.Credentials:
    """A password login when a username is set, else none (a local MTA)."""
    if not settings.fallback_username:
        return smtp.Credentials("none")
    if not settings.fallback_password:
        raise MailNotConfigured(_("No password is stored for the fallback server: type it on the Notifications "
                                  "page."))
    return smtp.Credentials("password", settings.fallback_username, settings.fallback_password)


def server_problem(settings: NotificationSettings, block_private_networks: bool) -> str | None:
    """Why the fallback server may not be used as saved (checked on saving and again at every send), or None."""
    authentication = "password" if settings.fallback_username else "none"
    return (plaintext_auth_problem(settings.fallback_host, settings.fallback_security, authentication)
            or (block_private_networks and private_address_problem(settings.fallback_host))
            or None)


def send_through_fallback(settings: NotificationSettings, draft: Draft, runtime: Runtime) -> str:
    """Deliver the draft over one SMTP conversation with the fallback server; its reply. MailError (with what
    went wrong) when it cannot."""
    problem = server_problem(settings, runtime.block_private_networks)
    if problem:
        raise MailNotConfigured(problem)
    sender = fallback_sender(settings, get_mail_server().sender_address)
    if not sender:
        raise MailNotConfigured(_("Set the sender address of the fallback server on the Notifications page."))
    credentials = fallback_credentials(settings)
    envelope = envelope_for(replace(draft, sender=sender))
    server = smtp.ServerSettings(settings.fallback_host, settings.fallback_port, settings.fallback_security,
                                 runtime.smtp_timeout, runtime.smtp_ca_bundle)
    trace = smtp.Trace()
    client = smtp.connect(server, trace)
    try:
        smtp.authenticate(client, credentials, trace)
        delivery = smtp.deliver(client, envelope.data, envelope.sender, envelope.recipients, envelope.message_id,
                                trace)
    finally:
        smtp.close(client)
    return delivery.reply
