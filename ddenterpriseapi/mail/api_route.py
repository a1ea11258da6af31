"""Where mail goes when the provider's HTTPS API carries it, and the consent that API may still lack."""

from dataclasses import dataclass

from sqlalchemy import inspect

from ..console_error import ConsoleError
from ..models import MailServer, OAuthConnection, OAuthSettings
from ..oauth.settings import is_app_only, mailbox_list
from ..oauth.source import credential_source
from ..oauth.tokens import ConsentRequired
from ..providers import SMTP, TRANSPORT_LABELS, Provider
from ..runtime import Runtime


@dataclass(frozen=True)
class ApiRoute:
    """The HTTPS API mail is sent through, and the mailbox it sends as (None until one is known)."""

    label: str
    url: str
    mailbox: str | None


def api_route(mail: MailServer, provider: Provider, settings: OAuthSettings,
              connection: OAuthConnection | None) -> ApiRoute | None:
    """The saved HTTPS transport, for the page's "where mail goes"; None with SMTP, or one the provider lacks."""
    if mail.transport != provider.mail_api or not inspect(mail).has_identity:
        return None
    return ApiRoute(TRANSPORT_LABELS[mail.transport], provider.api_url, sending_mailbox(mail, settings, connection))


def sending_mailbox(mail: MailServer, settings: OAuthSettings, connection: OAuthConnection | None) -> str | None:
    """Who sends: the username, else the first listed mailbox (app-only), else the authorized account."""
    if mail.username:
        return mail.username
    if is_app_only(settings):
        return next(iter(mailbox_list(settings)), None)
    return connection.account_email if connection else None


def missing_consent(settings: OAuthSettings, runtime: Runtime, transport: str) -> str | None:
    """Why the authorization does not cover the transport's API (Microsoft Graph chosen after it), found without
    asking the provider; None when it does, or when something else stands in the way (the OAuth notice says so)."""
    if transport == SMTP:
        return None
    try:
        credential_source(settings, runtime, transport).check_ready()
    except ConsentRequired as missing:
        return missing.message
    except ConsoleError:
        return None
    return None
