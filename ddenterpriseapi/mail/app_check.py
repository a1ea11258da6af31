"""The check of app-only sign-in: for each listed mailbox, a new token from the credential source, then SMTP AUTH
XOAUTH2 as that mailbox at the saved email server (no message sent), each result with the provider's or the server's
answer and the fix. No Flask here: the OAuth page shows the results."""

import time
from dataclasses import dataclass, replace

from flask_babel import gettext as _

from ..console_error import ConsoleError
from ..models import MailServer, OAuthSettings
from ..oauth.app_tokens import reopen
from ..oauth.errors import OAuthError
from ..oauth.settings import is_app_only, mailbox_list
from ..oauth.source import AppOnlySource
from ..runtime import Runtime
from . import smtp
from .api_transport import ApiTransport
from .errors import MailError, reply_advice
from .sending import transport_for
from .smtp import Trace
from .smtp_transport import SmtpTransport


@dataclass(frozen=True)
class MailboxCheck:
    """How one mailbox fared: ok, else the step that failed (token; config: the email server may not get it; connect;
    auth), what the provider or the
    server answered, and the fix (for a token, the console's sentence says both, the fix first)."""

    mailbox: str
    ok: bool
    step: str | None = None
    answer: str | None = None
    fix: str | None = None


class CheckImpossible(ConsoleError):
    """Nothing can be checked as saved: the email server does not sign in with OAuth, or app-only sign-in is not
    chosen."""


def check_app_only(settings: OAuthSettings, mail: MailServer, runtime: Runtime) -> list[MailboxCheck]:
    """Check every listed mailbox; CheckImpossible when the saved settings leave nothing to check."""
    if not is_app_only(settings):
        raise CheckImpossible(_("The check is for app-only sign-in: choose Application or Service account sign-in "
                                "and save."))
    if mail.authentication != "oauth":
        raise CheckImpossible(_("The email server does not sign in with OAuth: on the Email server page, set "
                                "Authentication to OAuth and save, then check again."))
    mailboxes = mailbox_list(settings)
    if not mailboxes:
        raise CheckImpossible(_("List at least one mailbox under Mailboxes and save, then check again."))
    try:
        transport = transport_for(mail, runtime)
    except MailError as unusable:  # the email server was never configured, or may not get credentials
        raise CheckImpossible(unusable.said) from None
    renewed: set[str] = set()
    if isinstance(transport, ApiTransport):  # an HTTPS API has no sign-in apart from sending: the token is checked
        return [check_token(transport.source, mailbox, renewed) for mailbox in mailboxes]
    return [check_mailbox(transport, mailbox, renewed, runtime) for mailbox in mailboxes]


def check_token(source: AppOnlySource, mailbox: str, renewed: set[str]) -> MailboxCheck:
    """A new token for the mailbox, for the HTTPS API's resource."""
    try:
        source.access_token(rejected=renewal(source, mailbox, renewed), mailbox=mailbox)
    except OAuthError as error:
        return MailboxCheck(mailbox, False, "token", error.code, error.message)
    return MailboxCheck(mailbox, True)


def check_mailbox(transport: SmtpTransport, mailbox: str, renewed: set[str], runtime: Runtime) -> MailboxCheck:
    """A new token for the mailbox (once per cached token: Microsoft's serves every mailbox), then AUTH as it, the
    conversation within SMTP_TIMEOUT."""
    try:
        credentials = transport.login.credentials(rejected=renewal(transport.login.source, mailbox, renewed),
                                                  mailbox=mailbox)
    except OAuthError as error:
        return MailboxCheck(mailbox, False, "token", error.code, error.message)
    except MailError as error:  # the email server is not one of the token's provider
        return MailboxCheck(mailbox, False, "config", None, error.message)
    server = replace(transport.server, deadline=time.monotonic() + runtime.smtp_timeout)
    trace = Trace()
    try:
        client = smtp.connect(server, trace)
    except MailError as error:
        return MailboxCheck(mailbox, False, "connect", error.reply, error.message)
    try:
        smtp.authenticate(client, credentials, trace)
    except MailError as error:
        advice = reply_advice(error.reply or "", credentials.issuer, app_only=True) if error.reply else None
        return MailboxCheck(mailbox, False, "auth", error.reply,
                            str(advice) if advice else error.message)
    finally:
        smtp.close(client)
    return MailboxCheck(mailbox, True)


def renewal(source: AppOnlySource, mailbox: str, renewed: set[str]) -> str | None:
    """The cached token to pass as rejected, so that the provider is asked anew (a grant changed meanwhile is seen)
    and its answer cached; a standing refusal is set aside to be asked again. None once this check renewed it."""
    try:
        key = source.request(source.mailbox(mailbox)).key
    except OAuthError:
        return None  # what the OAuth page lacks: the token step says it
    if key in renewed:
        return None
    renewed.add(key)
    return reopen(key)


def summary(results: list[MailboxCheck]) -> dict:
    """The audit event's values."""
    failed = [f"{result.mailbox} ({result.step}{': ' + result.answer if result.answer else ''})"
              for result in results if not result.ok]
    return {"ok": len(results) - len(failed), "checked": len(results), "failed": ", ".join(failed) or None}
