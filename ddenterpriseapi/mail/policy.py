"""Where the console's credentials may go: OAuth access tokens only to the provider's SMTP servers, and no
password or token over an unencrypted connection, except to a server on this machine."""

from flask_babel import gettext as _

from ..providers import Provider
from ..validation import is_loopback


def token_host_problem(host: str, provider: Provider, custom_hosts: str | None) -> str | None:
    """Why an OAuth access token may not be sent to this SMTP host, or None."""
    allowed = provider.token_hosts(custom_hosts)
    if is_loopback(host) or host.lower().rstrip(".") in allowed:
        return None
    if not allowed:
        return _("List your provider's SMTP hosts on the OAuth page (SMTP hosts): an OAuth access token is sent only "
                 "to them, or to a server on this machine.")
    return _("An OAuth access token for %(provider)s is sent only to its SMTP servers (%(hosts)s) or to a server on "
             "this machine, not to %(host)s. Leave the SMTP host blank to use the provider's, or choose Password "
             "authentication for another server.", provider=provider.label, hosts=", ".join(sorted(allowed)), host=host)


def plaintext_auth_problem(host: str, security: str, authentication: str) -> str | None:
    """Why this connection may not carry a password or token, or None."""
    if authentication == "none" or security != "none" or is_loopback(host):
        return None
    return _("Passwords and tokens are never sent over an unencrypted connection: set Security to STARTTLS or "
             "SSL/TLS (None with authentication is accepted only for a server on this machine).")
