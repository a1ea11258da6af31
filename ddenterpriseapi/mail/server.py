"""The saved email server: reading and saving it, and where it may be used with the console's credentials."""

from flask_babel import gettext as _

from ..database import apply_changes, locked_singleton
from ..extensions import db
from ..models import MailServer
from ..providers import Provider
from ..runtime import Runtime
from ..validation import private_address_problem
from .errors import MailNotConfigured
from .policy import plaintext_auth_problem
from .smtp import ServerSettings

SECRETS = {"password": ("host", "port")}  # where an SMTP password is sent


def get_mail_server() -> MailServer:
    """The saved email server, or unsaved defaults."""
    return db.session.get(MailServer, 1) or MailServer(id=1, port=587, security="starttls", authentication="oauth",
                                                       relay_sender="keep")


def save_mail_server(values: dict, provider: Provider) -> tuple[MailServer, list[str]]:
    """Store the settings (a blank password keeps the stored one unless the host or port changed; OAuth with no
    host takes the provider's); the names of those that changed."""
    if values["authentication"] == "oauth" and not values["host"] and provider.smtp_host:
        values.update(host=provider.smtp_host, port=provider.smtp_port, security=provider.smtp_security)
    mail = locked_singleton(MailServer)
    changed = apply_changes(mail, values, SECRETS)
    db.session.commit()
    return mail, changed


def server_settings(mail: MailServer, runtime: Runtime) -> ServerSettings:
    """Where to connect, or MailNotConfigured when the email server was never configured or may not be used."""
    if not mail.host:
        raise MailNotConfigured(_("Configure the email server first: SMTP host, port and security."))
    problem = destination_problem(mail, runtime.block_private_networks)
    if problem:
        raise MailNotConfigured(problem)
    return ServerSettings(mail.host, mail.port, mail.security, runtime.smtp_timeout, runtime.smtp_ca_bundle)


def destination_problem(mail: MailServer, block_private_networks: bool) -> str | None:
    """Why the saved server may not get the credentials, checked again at every send: the settings may predate
    these rules, and a host name may resolve elsewhere since it was saved."""
    return (plaintext_auth_problem(mail.host, mail.security, mail.authentication)
            or (block_private_networks and private_address_problem(mail.host))
            or None)
