"""What SMTP failures mean and what the administrator should do about them."""

from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..console_error import ConsoleError
from ..providers import PRESETS, Provider
from ..said import Said, said, sentences


@dataclass(frozen=True)
class ReplyFix:
    """What a marker in an SMTP reply means: the fix to show, whether the server refused the OAuth token, and the
    provider whose servers answer so."""

    marker: str
    fix: str
    token_rejected: bool = False
    provider: str | None = None
    app_fix: str | None = None  # the fix when the refused token was an application's or a service account's


SMTP_FIXES = (  # most specific first
    ReplyFix("5.2.252", _l(
        "Microsoft refused the From address: the mailbox may not send as it (SendAsDenied). Grant the mailbox Send "
        "As on that address (Exchange admin center, or Add-RecipientPermission <address> -AccessRights SendAs "
        "-Trustee <mailbox>), or set Sender of relayed messages to send as the mailbox on the Email server page."),
        provider="microsoft"),
    ReplyFix("5.7.139", _l(
        "SMTP AUTH is turned off for this mailbox or tenant in Exchange Online (OAuth does not bypass it). Turn it "
        "on: Set-CASMailbox -Identity <mailbox> -SmtpClientAuthenticationDisabled $false (tenant-wide: "
        "Set-TransportConfig -SmtpClientAuthenticationDisabled $false), or turn off security defaults."),
        provider="microsoft"),
    ReplyFix("5.7.3", _l(
        "Microsoft refused the token: check that the authorized account is the mailbox in Username (or has Send As "
        "/ Full Access on it), and that the app has the SMTP.Send permission on https://outlook.office.com."),
        token_rejected=True, provider="microsoft", app_fix=_l(
            "Exchange Online refused the application's token for this mailbox: register the application in Exchange "
            "(New-ServicePrincipal -AppId <Client ID> -ObjectId <Enterprise application's Object ID>), give it the "
            "mailbox (Add-MailboxPermission -Identity <mailbox> -User <Enterprise application's Object ID> "
            "-AccessRights FullAccess), and check that the SMTP.SendAsApp application permission has admin "
            "consent.")),
    ReplyFix("5.7.8", _l(
        "Google refused the credentials: check that the authorized account is the mailbox in Username and that the "
        "https://mail.google.com/ scope was granted; for Password mode use an app password."),
        token_rejected=True, provider="google", app_fix=_l(
            "Google refused the service account's token for this mailbox: check that its domain-wide delegation "
            "grants the scope https://mail.google.com/, and that the mailbox is a user of the domain.")),
    ReplyFix("5.7.0", _l("The server requires authentication (or TLS first): check Security and Authentication.")),
)

PORT_HINTS = {
    465: _l("Port 465 expects SSL/TLS from the first byte: set Security to SSL/TLS."),
    587: _l("Port 587 starts in plain text and upgrades with STARTTLS: set Security to STARTTLS."),
    25: _l("Port 25 usually starts in plain text: set Security to STARTTLS or None."),
}

STARTTLS_REQUIRED = _l("The server offers STARTTLS and goes no further without it: set Security to STARTTLS.")


def demands_tls(reply: str) -> bool:
    """Whether a refusal says the connection must be encrypted first ("530 Must issue a STARTTLS command first",
    "538 Encryption required")."""
    return reply.startswith("538") or "TLS" in reply.upper()


def mismatch_hint(port: int, security: str) -> str:
    """Advice for a port and security choice that do not fit together."""
    if port in PORT_HINTS:
        return str(PORT_HINTS[port])
    if security == "ssl":
        return _("If this port starts in plain text (usually 587 or 25), set Security to STARTTLS.")
    return _("If this port expects SSL/TLS from the first byte (usually 465), set Security to SSL/TLS.")


class MailError(ConsoleError):
    """Mail could not be sent; says at which step, what the server replied, and what to do."""

    api_status = 502

    def __init__(self, message: str | Said, step: str = "send", reply: str | None = None, token_rejected: bool = False,
                 refused: dict[str, str] | None = None):
        super().__init__(message, step=step)
        self.reply = reply
        self.token_rejected = token_rejected
        self.refused = refused or {}  # recipient: the server's reply, when every recipient was refused

    def api_details(self) -> dict:
        return {"step": self.step, "smtp_reply": self.reply}


class MailNotConfigured(MailError):
    """The email server cannot be used as saved: only an administrator can fix it."""

    api_status = 503

    def __init__(self, message: str | Said):
        super().__init__(message, "config")

    def api_details(self) -> dict:
        return {}


class InvalidMessage(ConsoleError):
    """A message cannot be built from what was given (bad address, header injection, ...)."""

    api_status = 422

    def __init__(self, message: str | Said, field: str | None = None):
        super().__init__(message, field=field)

    def api_details(self) -> dict:
        return {"field": self.field}


def known_reply(reply: str) -> ReplyFix | None:
    """The most specific known marker in an SMTP reply."""
    return next((known for known in SMTP_FIXES if known.marker in reply), None)


def foreign_server(known: ReplyFix, issuer: Provider | None) -> bool:
    """Whether the reply comes from another provider's server than the one that issued the token (a Custom
    provider may run on any of them)."""
    return (issuer is not None and not issuer.editable_endpoints and known.provider is not None
            and known.provider != issuer.key)


def fix_for_reply(reply: str, issuer: Provider | None = None, app_only: bool = False) -> str:
    """The advice that matches an SMTP reply, or an empty string; a token taken to another provider's server is
    told so, not given that server's advice; an application's refused token gets the application's fix."""
    return str(reply_advice(reply, issuer, app_only) or "")


def reply_advice(reply: str, issuer: Provider | None = None, app_only: bool = False) -> Said | None:
    """fix_for_reply() as a sentence the audit log can word again."""
    known = known_reply(reply)
    if known is None:
        return None
    if foreign_server(known, issuer):
        return said("foreign_server", server=str(PRESETS[known.provider].label), provider=str(issuer.label),
                    host=issuer.smtp_host)
    return said("app_reply_fix" if app_only and known.app_fix else "reply_fix", marker=known.marker)


def rejects_token(reply: str, issuer: Provider | None = None) -> bool:
    """Whether an SMTP reply says the access token was refused by its own provider, so a fresh one is worth one
    more try."""
    known = known_reply(reply)
    return known is not None and known.token_rejected and not foreign_server(known, issuer)


def known_fix(marker: str) -> str:
    return str(next((known.fix for known in SMTP_FIXES if known.marker == marker), ""))


def known_app_fix(marker: str) -> str:
    return str(next((known.app_fix for known in SMTP_FIXES if known.marker == marker and known.app_fix), ""))


sentences({  # SMTP failures by code, so the audit log words them in its reader's language
    "reply_fix": known_fix,
    "app_reply_fix": known_app_fix,
    "foreign_server": _l("This is a %(server)s server, but the token comes from %(provider)s, the provider on the "
                         "OAuth page: a token works only at its own provider's servers. Set the SMTP host to "
                         "%(provider)s's (%(host)s), or leave it blank."),
    "mismatch_hint": mismatch_hint,
    "starttls_required": STARTTLS_REQUIRED,
    "starttls_not_offered": _l("The server does not offer STARTTLS."),
    "certificate_unverified": _l("The certificate of %(where)s could not be verified (%(reason)s). Check the SMTP "
                                 "host name, or configure SMTP_CA_BUNDLE with your organisation's certificate "
                                 "authority."),
    "tls_failed": _l("TLS with %(where)s failed (%(reason)s)."),
    "silent_server": _l("%(where)s did not answer within %(seconds)s s. Check host and port."),
    "connection_closed": _l("%(where)s closed the connection during %(step)s."),
    "host_not_found": _l("The SMTP host %(host)s could not be found (DNS)."),
    "connection_refused": _l("%(where)s refused the connection: check the host and port, and that the server is "
                             "up."),
    "answered_during": _l("%(where)s answered %(reply)s during %(step)s."),
    "could_not_talk": _l("Could not talk to %(where)s (%(error)s: %(detail)s)."),
    "auth_not_offered": lambda offered=None: _(
        "The server does not offer this authentication (it offers: %(offered)s). Check Security (AUTH is often "
        "offered only after STARTTLS) and Authentication.", offered=offered or _("none")),
    "auth_failed": _l("Authentication failed: %(error)s"),
    "no_answer_during": _l("The server did not answer within %(seconds)s s, during %(step)s."),
    "connection_failed_during": _l("The connection failed during %(step)s (%(error)s: %(detail)s)."),
    "auth_refused": _l("The server refused authentication: %(reply)s."),
    "recipients_refused": _l("Every recipient was refused: %(details)s"),
    "sender_refused": _l("The sender %(sender)s was refused: %(reply)s."),
    "sender_not_allowed": _l("The authenticated account may not send as this address."),
    "message_refused": _l("The message was refused: %(reply)s."),
    "sending_failed": _l("The connection failed while sending (%(error)s: %(detail)s)."),
    "unusable_sender": lambda address, origin, reason: _(
        "Sender address is blank, so messages without a sender go out as %(address)s, taken from %(origin)s, and "
        "that address cannot be used: %(reason)s Type a Sender address on the Email server page.", address=address,
        origin=_("the Username") if origin == "username" else _("the authorized account"), reason=reason),
    "transport_not_offered": _l("The transport chosen on the Email server page, %(transport)s, is not offered by "
                                "%(provider)s, the provider on the OAuth page: choose another transport and save."),
    "server_not_configured": _l("Configure the email server first: SMTP host, port and security."),
    "no_smtp_password": _l("No SMTP password is stored: type it on the email server page."),
})
