"""SMTP as a transport: one connection per batch, signed in with a password or with an access token from the
credential source; a refused token is refreshed and tried once more."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from flask_babel import gettext as _

from ..oauth.source import CredentialSource
from ..providers import Provider
from ..said import said
from . import smtp
from .errors import MailError, MailNotConfigured
from .policy import token_host_problem
from .smtp import Credentials, ServerSettings, Trace
from .transport import Send


@dataclass(frozen=True)
class SmtpLogin:
    """How to sign in: no AUTH, the stored password, or a token from the credential source, which goes only to
    the SMTP servers of the provider that issued it (Custom: the listed ones)."""

    mechanism: str  # "none", "password" or "oauth"
    username: str = ""
    password: str | None = None
    source: CredentialSource | None = None
    host: str = ""
    registry: dict[str, Provider] = field(default_factory=dict)
    custom_hosts: str | None = None

    def check_ready(self) -> None:
        """Raise what an administrator must fix first (no password stored, nobody authorized), without asking
        the provider anything."""
        if self.mechanism == "password" and not self.password:
            raise MailNotConfigured(said("no_smtp_password"))
        if self.mechanism == "oauth":
            self.source.check_ready()

    def credentials(self, rejected: str | None = None, mailbox: str | None = None) -> Credentials:
        """The credentials of the moment; for OAuth, a valid access token other than `rejected`, for the mailbox
        (None: the credential source's own)."""
        if self.mechanism == "password":
            self.check_ready()
            return Credentials("password", self.username, self.password)
        if self.mechanism != "oauth":
            return Credentials("none")
        token = self.source.access_token(rejected, mailbox)
        provider = self.registry[token.provider]
        problem = token_host_problem(self.host, provider, self.custom_hosts if provider.editable_endpoints else None)
        if problem:
            raise MailNotConfigured(problem)
        # An application's token signs in as the mailbox it was asked for; a person's, as the Username if any
        # (a shared mailbox), else as that person.
        username = token.mailbox if token.app_only else self.username or token.mailbox
        return Credentials("oauth", username, token.value, provider, app_only=token.app_only)


@dataclass
class SmtpTransport:
    """Delivers a batch over one authenticated SMTP connection."""

    server: ServerSettings
    login: SmtpLogin
    first: Credentials | None = None  # fetched once: the mailbox decides the sender before anything connects
    signs_in_as: str | None = None  # app-only sign-in: the mailbox to sign in as (None: the first listed)

    def credentials(self) -> Credentials:
        if self.first is None:
            self.first = self.login.credentials(mailbox=self.signs_in_as)
        return self.first

    def mailbox(self) -> str:
        return self.credentials().username

    def check_ready(self) -> None:
        self.login.check_ready()

    @contextmanager
    def session(self, trace: Trace) -> Iterator[Send]:
        client = self.open_client(trace)
        try:
            yield lambda envelope, meanwhile=None: smtp.deliver(
                client, envelope.data, envelope.sender, envelope.recipients, envelope.message_id, trace, meanwhile)
        finally:
            smtp.close(client)

    def open_client(self, trace: Trace):
        """An authenticated SMTP client; a refused OAuth token is refreshed and tried once more."""
        try:
            return self.signed_in(self.credentials(), trace)
        except MailError as error:
            if not error.token_rejected:
                raise
            trace.failed(error)
        self.first = self.login.credentials(rejected=self.first.secret, mailbox=self.signs_in_as)
        trace.ok("retry", _("token refreshed, trying again"))
        return self.signed_in(self.first, trace)

    def signed_in(self, creds: Credentials, trace: Trace):
        """A client connected and authenticated with these credentials; closed again when AUTH fails."""
        client = smtp.connect(self.server, trace)
        try:
            smtp.authenticate(client, creds, trace)
        except MailError:
            smtp.close(client)
            raise
        return client
