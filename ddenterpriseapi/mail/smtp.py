"""Talking to the SMTP server: connect, TLS, EHLO, AUTH (XOAUTH2, PLAIN/LOGIN), MAIL/RCPT/DATA."""

import functools
import smtplib
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..console_error import ConsoleError
from ..providers import Provider
from ..said import Said, joined, said
from .errors import MailError, demands_tls, rejects_token, reply_advice
from .message import international


@dataclass(frozen=True)
class ServerSettings:
    """Where and how to connect."""

    host: str
    port: int
    security: str
    timeout: float = 20
    ca_bundle: str | None = None
    deadline: float | None = None  # time.monotonic() by which the whole conversation ends; else `timeout` per step


@dataclass(frozen=True)
class Credentials:
    """Who to authenticate as: mechanism "none", "password" or "oauth" (secret is then an access token, issued by
    the issuer)."""

    mechanism: str
    username: str = ""
    secret: str = field(default="", repr=False)  # never in a traceback's locals
    issuer: Provider | None = None
    app_only: bool = False  # an application's or a service account's token, not a person's


@dataclass(frozen=True)
class Delivery:
    """What the server said to one message: its reply to DATA, and the recipients it refused (with replies)."""

    reply: str
    refused: dict[str, str] = field(default_factory=dict)


END_OF_DATA = b"\r\n.\r\n"


class RepliesKept:
    """Keeps the server's reply to DATA, which smtplib's sendmail reads and drops (it names the queue id); and runs
    the caller's `meanwhile` work once the message is out, while the server takes it in."""

    data_reply: tuple[int, bytes] = (0, b"")
    meanwhile: Callable[[], None] | None = None

    def data(self, msg):
        self.data_reply = super().data(msg)
        return self.data_reply

    def send(self, s):
        super().send(s)
        if self.meanwhile is not None and isinstance(s, bytes) and s.endswith(END_OF_DATA):
            self.run_meanwhile()

    def run_meanwhile(self) -> None:
        work, self.meanwhile = self.meanwhile, None
        if work is not None:
            work()


class WithinDeadline:
    """Gives each socket operation the time left before the deadline, so the deadline bounds the whole
    conversation rather than each step; a conversation cut short by it raises TimeoutError."""

    deadline: float | None = None

    def __init__(self, *args, deadline: float | None = None, **kwargs):
        self.deadline = deadline
        super().__init__(*args, **kwargs)

    def time_left(self, timeout: float) -> float:
        if self.deadline is None:
            return timeout
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the deadline passed")
        return left

    def late(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline - 0.05

    def _get_socket(self, host, port, timeout):
        return super()._get_socket(host, port, self.time_left(timeout))

    def send(self, s):
        self.within_deadline(super().send, s)

    def getreply(self):
        return self.within_deadline(super().getreply)

    def within_deadline(self, operation, *args):
        """Run a socket operation with the time left; smtplib reports a timeout as a disconnection."""
        if self.sock is not None and self.deadline is not None:
            try:
                self.sock.settimeout(self.time_left(self.timeout))
            except TimeoutError:
                self.close()  # as smtplib does when the server goes away
                raise
        try:
            return operation(*args)
        except smtplib.SMTPServerDisconnected:
            if self.late():
                raise TimeoutError("the deadline passed") from None
            raise


class Client(RepliesKept, WithinDeadline, smtplib.SMTP):
    """A plain or STARTTLS connection."""


class SSLClient(RepliesKept, WithinDeadline, smtplib.SMTP_SSL):
    """An implicit-TLS connection."""


@dataclass
class Trace:
    """The steps of one SMTP conversation, shown after a test send."""

    steps: list = field(default_factory=list)

    def ok(self, step: str, detail: str = "") -> None:
        self.steps.append({"step": step, "ok": True, "detail": detail})

    def failed(self, error: ConsoleError) -> None:
        self.steps.append({"step": error.step or error.field or "message", "ok": False, "detail": error.message})


def reply_text(code: int, message: bytes | str) -> str:
    """An SMTP reply as one line of text."""
    text = message.decode(errors="replace") if isinstance(message, bytes) else str(message)
    return f"{code} {' '.join(text.split())}"


def in_sentence(reply: str) -> str:
    """A reply quoted inside a sentence that ends with its own period: without the reply's final one."""
    return reply.rstrip(".")


@functools.lru_cache(maxsize=8)
def tls_context(ca_bundle: str | None) -> ssl.SSLContext:
    """Certificate and host name verified, against the system's authorities plus the configured bundle.

    Built once per bundle: loading the system's authorities takes longer than a whole SMTP conversation.
    """
    context = ssl.create_default_context()
    if ca_bundle:
        context.load_verify_locations(cafile=ca_bundle)
    return context


@functools.lru_cache(maxsize=1)
def local_hostname() -> str:
    """The name given in EHLO, looked up once: smtplib would do a reverse DNS lookup on every connection."""
    return socket.getfqdn()


def connect(server: ServerSettings, trace: Trace) -> Client | SSLClient:
    """An open, greeted, EHLO'd and (as configured) encrypted connection."""
    context = tls_context(server.ca_bundle)
    step = "connect"
    try:
        if server.security == "ssl":
            step = "tls"
            smtp = SSLClient(server.host, server.port, local_hostname(), timeout=server.timeout, context=context,
                             deadline=server.deadline)
            trace.ok("connect", f"{server.host}:{server.port}")
            trace.ok("tls", _("SSL/TLS, certificate verified"))
        else:
            smtp = Client(server.host, server.port, local_hostname(), timeout=server.timeout, deadline=server.deadline)
            trace.ok("connect", f"{server.host}:{server.port}")
        step = "ehlo"
        smtp.ehlo()
        if server.security == "starttls":
            step = "tls"
            if not smtp.has_extn("starttls"):
                smtp.close()
                raise MailError(joined(said("starttls_not_offered"), said("mismatch_hint", port=server.port,
                                                                                         security="none")), "tls")
            smtp.starttls(context=context)
            trace.ok("tls", _("STARTTLS, certificate verified"))
            smtp.ehlo()
        trace.ok("ehlo", " ".join(sorted(smtp.esmtp_features)))
        return smtp
    except MailError:
        raise
    except (OSError, smtplib.SMTPException) as error:
        raise connection_error(error, step, server) from None


def connection_error(error: Exception, step: str, server: ServerSettings) -> MailError:
    """Explain a failure to connect, negotiate TLS or greet."""
    where = f"{server.host}:{server.port}"
    hint = said("mismatch_hint", port=server.port, security=server.security)
    if isinstance(error, ssl.SSLCertVerificationError):
        return MailError(said("certificate_unverified", where=where, reason=error.verify_message), "tls")
    if isinstance(error, ssl.SSLError):
        return MailError(joined(said("tls_failed", where=where, reason=str(error.reason or error)), hint), "tls")
    if isinstance(error, (socket.timeout, TimeoutError)):
        return MailError(joined(said("silent_server", where=where, seconds=format(server.timeout, "g")), hint), step)
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return MailError(joined(said("connection_closed", where=where, step=step), hint), step)
    if isinstance(error, socket.gaierror):
        return MailError(said("host_not_found", host=server.host), "connect")
    if isinstance(error, ConnectionRefusedError):
        return MailError(said("connection_refused", where=where), "connect")
    if isinstance(error, smtplib.SMTPResponseException):
        reply = reply_text(error.smtp_code, error.smtp_error)
        return MailError(said("answered_during", where=where, reply=in_sentence(reply), step=step), step, reply)
    return MailError(said("could_not_talk", where=where, error=type(error).__name__, detail=str(error)), step)


def xoauth2(username: str, access_token: str) -> str:
    """The SASL XOAUTH2 initial response, before base64."""
    return f"user={username}\x01auth=Bearer {access_token}\x01\x01"


def authenticate(smtp: smtplib.SMTP, credentials: Credentials, trace: Trace) -> None:
    """AUTH as configured; a refused OAuth token is flagged so the caller can refresh it and retry once."""
    if credentials.mechanism == "none":
        return
    try:
        if credentials.mechanism == "oauth":
            raw = xoauth2(credentials.username, credentials.secret)
            # Answer Google's 334 error challenge with an empty line, so its real 535 reply comes back.
            smtp.auth("XOAUTH2", lambda challenge=None: raw if challenge is None else "",
                      initial_response_ok=True)
            trace.ok("auth", _("XOAUTH2 as %(user)s", user=credentials.username))
        else:
            smtp.login(credentials.username, credentials.secret)
            trace.ok("auth", _("password as %(user)s", user=credentials.username))
    except smtplib.SMTPAuthenticationError as error:
        raise auth_refused(smtp, error, credentials) from None
    except smtplib.SMTPNotSupportedError:
        offered = smtp.esmtp_features.get("auth", "none")
        raise MailError(said("auth_not_offered", offered=offered.strip() or None), "auth") from None
    except smtplib.SMTPException as error:
        raise MailError(said("auth_failed", error=str(error)), "auth") from None
    except OSError as error:
        raise broken_connection(error, "auth", smtp) from None


def broken_connection(error: OSError, step: str, smtp: smtplib.SMTP) -> MailError:
    """Explain a connection that stopped answering, or broke, in the middle of the conversation."""
    if isinstance(error, TimeoutError):
        return MailError(said("no_answer_during", seconds=format(smtp.timeout, "g"), step=step), step)
    return MailError(said("connection_failed_during", step=step, error=type(error).__name__, detail=str(error)), step)


def auth_refused(smtp: smtplib.SMTP, error: smtplib.SMTPAuthenticationError, credentials: Credentials) -> MailError:
    """Explain a refused AUTH; a refused OAuth token is flagged so the caller can refresh it and retry once."""
    reply = reply_text(error.smtp_code, error.smtp_error)
    plain = plain_text_hint(smtp, reply)
    rejected = credentials.mechanism == "oauth" and not plain and rejects_token(reply, credentials.issuer)
    advice = plain or reply_advice(reply, credentials.issuer, credentials.app_only)
    return MailError(joined(said("auth_refused", reply=in_sentence(reply)), advice), "auth", reply,
                     token_rejected=rejected)


def plain_text_hint(smtp: smtplib.SMTP, reply: str) -> Said | None:
    """"Set Security to STARTTLS" when a server that offered STARTTLS refuses to go on over plain text."""
    if isinstance(smtp.sock, ssl.SSLSocket) or not smtp.has_extn("starttls") or not demands_tls(reply):
        return None
    return said("starttls_required")


def mail_options(smtp: smtplib.SMTP, data: bytes, envelope: list[str]) -> list[str]:
    """SMTPUTF8 for an international envelope, BODY=8BITMIME for 8-bit content when the server offers it."""
    options = ["SMTPUTF8"] if international(envelope) else []
    if not data.isascii() and smtp.has_extn("8bitmime"):
        options.append("BODY=8BITMIME")
    return options


def deliver(smtp: Client | SSLClient, data: bytes, envelope_from: str, recipients: list[str], message_id: str,
            trace: Trace, meanwhile: Callable[[], None] | None = None) -> Delivery:
    """MAIL FROM, RCPT TO, DATA for one message on an open connection, its bytes untouched; the server's answer,
    with the recipients it refused while accepting the others. `meanwhile` runs once: while the server takes the
    message in, or before the answer when the message never went."""
    smtp.meanwhile = meanwhile
    try:
        refused = smtp.sendmail(envelope_from, recipients, data,
                                mail_options=mail_options(smtp, data, [envelope_from, *recipients]))
    except (OSError, smtplib.SMTPException) as error:
        raise sending_error(error, envelope_from, smtp) from None
    finally:
        smtp.run_meanwhile()
    trace.ok("mail", f"MAIL FROM <{envelope_from}>")
    accepted = [rcpt for rcpt in recipients if rcpt not in refused]
    trace.ok("rcpt", "RCPT TO " + ", ".join(f"<{rcpt}>" for rcpt in accepted)
             + ("; " + _("refused: %(recipients)s", recipients=", ".join(refused)) if refused else ""))
    reply = reply_text(*smtp.data_reply)
    # Translated only if shown: the outbox worker's traces never are, and it says this once per message.
    trace.ok("data", _l("message accepted (%(message_id)s): %(reply)s", message_id=message_id, reply=reply))
    return Delivery(reply, {rcpt: reply_text(*answer) for rcpt, answer in refused.items()})


def sending_error(error: Exception, envelope_from: str, smtp: smtplib.SMTP) -> MailError:
    """Explain a failure during MAIL, RCPT or DATA, with the server's reply and which recipients it refused."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        replies = {rcpt: reply_text(*reply) for rcpt, reply in error.recipients.items()}
        details = "; ".join(f"{rcpt}: {reply}" for rcpt, reply in replies.items())
        return MailError(said("recipients_refused", details=details), "rcpt", details, refused=replies)
    if isinstance(error, smtplib.SMTPSenderRefused):
        reply = reply_text(error.smtp_code, error.smtp_error)
        advice = plain_text_hint(smtp, reply) or said("sender_not_allowed")
        refused = said("sender_refused", sender=envelope_from, reply=in_sentence(reply))
        return MailError(joined(refused, advice), "mail", reply)
    if isinstance(error, smtplib.SMTPDataError):
        reply = reply_text(error.smtp_code, error.smtp_error)
        return MailError(joined(said("message_refused", reply=in_sentence(reply)), reply_advice(reply)), "data", reply)
    if isinstance(error, TimeoutError):
        return broken_connection(error, "data", smtp)
    return MailError(said("sending_failed", error=type(error).__name__, detail=str(error)), "data")


def close(smtp: smtplib.SMTP) -> None:
    """QUIT politely; a server that already hung up is fine."""
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()
