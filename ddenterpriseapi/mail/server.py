"""The saved email server: reading and saving it, where mail goes (with OAuth, a blank host, port or security is the
provider's, and follows it), and where it may be used with the console's credentials."""

from sqlalchemy import inspect

from ..database import apply_changes, locked_singleton
from ..extensions import db
from ..models import MailServer
from ..outbox.actions import retry_all_now
from ..providers import SMTP, Provider
from ..runtime import Runtime
from ..said import said
from ..validation import private_address_problem
from .errors import MailNotConfigured
from .policy import plaintext_auth_problem, token_host_problem
from .smtp import ServerSettings

SECRETS = {"password": ("host", "port")}  # where an SMTP password is sent
PROVIDER_SERVER = {"host": None, "port": None, "security": None}  # every field follows the provider


def get_mail_server() -> MailServer:
    """The saved email server, or unsaved defaults (with OAuth, the provider's server)."""
    return db.session.get(MailServer, 1) or MailServer(id=1, authentication="oauth", relay_sender="keep",
                                                       transport=SMTP)


def save_mail_server(values: dict) -> tuple[MailServer, list[str]]:
    """Store the settings (a blank password keeps the stored one unless the host or port changed); the names of
    those that changed."""
    mail = locked_singleton(MailServer)
    changed = apply_changes(mail, values, SECRETS)
    db.session.commit()
    if "transport" in changed:  # what waits for another try goes at once the new way
        retry_all_now()
    return mail, changed


def follows_provider(authentication: str, provider: Provider | None) -> bool:
    """Whether a blank host, port or security is the provider's: with OAuth, when the provider has an SMTP server."""
    return authentication == "oauth" and provider is not None and bool(provider.smtp_host)


def where_mail_goes(mail: MailServer, provider: Provider | None) -> ServerSettings | None:
    """The host, port and security mail is sent to; None until the email server is saved with all three."""
    host, port, security = mail.host, mail.port, mail.security
    if follows_provider(mail.authentication, provider):
        host, port = host or provider.smtp_host, port or provider.smtp_port
        security = security or provider.smtp_security
    if not (inspect(mail).has_identity and host and port and security):
        return None
    return ServerSettings(host, port, security)


def own_host_problem(mail: MailServer, provider: Provider) -> str | None:
    """Why the typed SMTP host cannot take the provider's tokens (it is the previous provider's, say), when the
    provider's own server could be taken instead; else None."""
    if not (mail.host and follows_provider(mail.authentication, provider)):
        return None
    return token_host_problem(mail.host, provider, None)


def server_settings(mail: MailServer, runtime: Runtime, provider: Provider | None,
                    deadline: float | None = None) -> ServerSettings:
    """Where to connect, or MailNotConfigured when the email server was never configured or may not be used."""
    where = where_mail_goes(mail, provider)
    if where is None:
        raise MailNotConfigured(said("server_not_configured"))
    problem = destination_problem(where, mail.authentication, runtime.block_private_networks)
    if problem:
        raise MailNotConfigured(problem)
    return ServerSettings(where.host, where.port, where.security, runtime.smtp_timeout, runtime.smtp_ca_bundle,
                          deadline)


def destination_problem(where: ServerSettings, authentication: str, block_private_networks: bool) -> str | None:
    """Why the saved server may not get the credentials, checked again at every send: the settings may predate
    these rules, and a host name may resolve elsewhere since it was saved."""
    return (plaintext_auth_problem(where.host, where.security, authentication)
            or (block_private_networks and private_address_problem(where.host))
            or None)
