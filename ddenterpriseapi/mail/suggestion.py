"""The provider's HTTPS API offered in one click when SMTP turns out closed: SMTP AUTH turned off for the mailbox
(5.7.139), or the SMTP server out of reach, while the API answers over HTTPS."""

from dataclasses import dataclass

from ..console_error import ConsoleError
from ..models import DeliveryStatus, MailServer
from ..providers import SMTP, TRANSPORT_LABELS, Provider
from ..runtime import Runtime
from .api_http import ApiHttp
from .errors import MailError

SMTP_AUTH_DISABLED = "5.7.139"  # Exchange Online: SmtpClientAuthentication is disabled for the mailbox or tenant
PROBE_TIMEOUT = 5.0
ANY_STATUS = tuple(range(100, 600))  # any answer, 401 and 404 included, means HTTPS gets through
MAILBOX, HOST = "mailbox", "host"  # what SMTP is closed for


@dataclass(frozen=True)
class Suggestion:
    """The HTTPS transport to send through instead, and what SMTP is closed for."""

    transport: str
    label: str
    closed: str


def can_use_api(mail: MailServer, provider: Provider) -> bool:
    """Whether the provider's HTTPS API can carry this email server's mail: it has one, and OAuth signs in."""
    return bool(provider.mail_api) and mail.authentication == "oauth"


def after_test_failure(error: ConsoleError, mail: MailServer, provider: Provider,
                       runtime: Runtime) -> Suggestion | None:
    """After a failed test email through SMTP: the API, when SMTP is closed and the API answers."""
    closed = closed_for(error)
    if closed is None or not offered(mail, provider) or not api_answers(provider, runtime):
        return None
    return suggest(provider, closed)


def after_delivery_failure(status: DeliveryStatus | None, mail: MailServer, provider: Provider) -> Suggestion | None:
    """From the latest delivery failure, when it says SMTP AUTH is off (no probe: pages are viewed often)."""
    if status is None or SMTP_AUTH_DISABLED not in (status.last_error or "") or succeeded_since(status):
        return None
    return suggest(provider, MAILBOX) if offered(mail, provider) else None


def closed_for(error: ConsoleError) -> str | None:
    """What a failure says SMTP is closed for: the mailbox (5.7.139), the host (no connection); else None."""
    if not isinstance(error, MailError):
        return None
    if SMTP_AUTH_DISABLED in (error.reply or ""):
        return MAILBOX
    return HOST if error.step == "connect" else None


def offered(mail: MailServer, provider: Provider) -> bool:
    """Whether switching would change anything: SMTP carries the mail now, and the API could."""
    return can_use_api(mail, provider) and mail.transport in (None, SMTP)


def succeeded_since(status: DeliveryStatus) -> bool:
    """Whether mail went out after the failure (the latest failure no longer says how things are)."""
    success, error = status.last_success_at, status.last_error_at
    return success is not None and (error is None or success > error)


def suggest(provider: Provider, closed: str) -> Suggestion:
    """The provider's API suggested."""
    return Suggestion(provider.mail_api, TRANSPORT_LABELS[provider.mail_api], closed)


def api_answers(provider: Provider, runtime: Runtime) -> bool:
    """Whether the API's host answers over HTTPS (a GET of its base URL, SMTP_CA_BUNDLE trusted)."""
    http = ApiHttp(TRANSPORT_LABELS[provider.mail_api], min(runtime.smtp_timeout, PROBE_TIMEOUT),
                   runtime.smtp_ca_bundle)
    try:
        http.call("GET", provider.api_url, "probe", expected=ANY_STATUS)
    except MailError:
        return False
    finally:
        http.close()
    return True
