"""A provider's HTTPS API as a transport, for when SMTP is closed: one HTTPS session per batch, each message sent as
its mailbox with an access token for the API's resource; a refused token is refreshed and tried once more."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask_babel import gettext as _

from ..oauth.source import CredentialSource
from ..oauth.tokens import AccessToken
from ..providers import GMAIL_API, GRAPH
from . import gmail_api, graph
from .api_errors import ApiError
from .api_http import ApiHttp
from .smtp import Delivery, Trace
from .transport import Envelope, Send

CLIENTS = {GRAPH: graph, GMAIL_API: gmail_api}  # how each API takes a message


@dataclass
class ApiTransport:
    """Delivers a batch through the provider's HTTPS API (`api`: GRAPH or GMAIL_API, at `url`)."""

    api: str
    url: str
    source: CredentialSource
    username: str = ""  # delegated sign-in: the mailbox that sends, when not the authorized account (shared)
    timeout: float = 20
    ca_bundle: str | None = None
    deadline: float | None = None
    signs_in_as: str | None = None  # app-only sign-in: the mailbox to send as (None: the first listed)
    token: AccessToken | None = None  # fetched once: the mailbox decides the sender before anything is sent

    @property
    def label(self) -> str:
        return CLIENTS[self.api].LABEL

    def credentials(self) -> AccessToken:
        if self.token is None:
            self.token = self.source.access_token(mailbox=self.signs_in_as)
        return self.token

    def mailbox(self) -> str:
        token = self.credentials()
        return token.mailbox if token.app_only else self.username or token.mailbox

    def check_ready(self) -> None:
        self.source.check_ready(self.signs_in_as)

    @contextmanager
    def session(self, trace: Trace) -> Iterator[Send]:
        trace.ok("token", _("access token for %(api)s, as %(mailbox)s", api=self.label, mailbox=self.mailbox()))
        http = ApiHttp(self.label, self.timeout, self.ca_bundle, self.deadline)
        try:
            yield lambda envelope, meanwhile=None: self.send(http, envelope, trace, meanwhile)
        finally:
            http.close()

    def send(self, http: ApiHttp, envelope: Envelope, trace: Trace,
             meanwhile: Callable[[], None] | None = None) -> Delivery:
        """One message; a token the API refuses is replaced once. `meanwhile` runs before the answer is read."""
        if meanwhile is not None:
            meanwhile()
        client = CLIENTS[self.api]
        try:
            reply = client.send(http, self.url, envelope, self.credentials().value, self.mailbox(), trace)
        except ApiError as error:
            if not error.token_rejected:
                raise
            trace.failed(error)
            self.token = self.source.access_token(rejected=self.token.value, mailbox=self.signs_in_as)
            trace.ok("retry", _("token refreshed, trying again"))
            reply = client.send(http, self.url, envelope, self.token.value, self.mailbox(), trace)
        trace.ok("answer", _("message accepted (%(message_id)s): %(reply)s", message_id=envelope.message_id,
                             reply=reply))
        return Delivery(reply)
