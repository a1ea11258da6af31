"""Saving the email server and sending the test email."""

from flask_babel import gettext as _

from ..database import apply_changes, locked_singleton
from ..extensions import db
from ..models import MailServer
from ..providers import Provider
from .message import Draft
from .sending import get_mail_server, send_drafts
from .smtp import Trace

SECRETS = {"password": ("host", "port")}  # where an SMTP password is sent


def save_mail_server(values: dict, provider: Provider) -> tuple[MailServer, list[str]]:
    """Store the settings (a blank password keeps the stored one unless the host or port changed; OAuth with no
    host takes the provider's); the names of those that changed."""
    if values["authentication"] == "oauth" and not values["host"] and provider.smtp_host:
        values.update(host=provider.smtp_host, port=provider.smtp_port, security=provider.smtp_security)
    mail = locked_singleton(MailServer)
    changed = apply_changes(mail, values, SECRETS)
    db.session.commit()
    return mail, changed


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
