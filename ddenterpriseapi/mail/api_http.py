"""Calls to a provider's HTTPS mail API: one session per batch, each call within its timeout and the conversation's
deadline, the certificate verified against the system's authorities plus SMTP_CA_BUNDLE, no redirect followed, an
HTTPS proxy of the environment taken (where only HTTPS leaves, it often leaves through one); a failure to reach
the API said as a MailError."""

import ssl
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests

from ..oauth.errors import OAuthError
from ..oauth.http import ProviderAdapter
from ..said import said
from .api_errors import api_error
from .errors import MailError


class ApiAdapter(ProviderAdapter):
    """The provider adapter (total deadline, capped answer, no redirects), trusting SMTP_CA_BUNDLE too."""

    def __init__(self, ca_bundle: str | None):
        self.ca_bundle = ca_bundle
        super().__init__()

    def tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self.ca_bundle:
            context.load_verify_locations(cafile=self.ca_bundle)
        return context

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, ssl_context=self.tls_context(), **kwargs)

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        return super().proxy_manager_for(proxy, ssl_context=self.tls_context(), **proxy_kwargs)

    def refuse_redirect(self, response: requests.Response) -> None:
        """Google's 308 Resume Incomplete, which names no Location, answers an upload's chunk: not a redirect."""
        if response.status_code != 308 or "Location" in response.headers:
            super().refuse_redirect(response)


@dataclass
class ApiHttp:
    """An HTTPS session to one API (`label` names it in messages)."""

    label: str
    timeout: float
    ca_bundle: str | None = None
    deadline: float | None = None  # time.monotonic() by which the whole conversation ends
    session: requests.Session = field(init=False, repr=False)

    def __post_init__(self):
        self.session = requests.Session()  # HTTPS_PROXY and NO_PROXY apply, as to the token endpoint's calls
        for prefix in ("https://", "http://"):
            self.session.mount(prefix, ApiAdapter(self.ca_bundle))

    def close(self) -> None:
        self.session.close()

    def time_left(self) -> float:
        if self.deadline is None:
            return self.timeout
        return max(min(self.timeout, self.deadline - time.monotonic()), 0.01)

    def call(self, method: str, url: str, step: str, token: str | None = None, expected: tuple[int, ...] = (200,),
             **kwargs) -> requests.Response:
        """One call, the bearer token attached (unless None, as upload URLs want); the answer when its status is
        expected, else ApiError explaining it; MailError when the API cannot be reached."""
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        try:
            response = self.session.request(method, url, headers=headers, timeout=self.time_left(), **kwargs)
        except requests.Timeout:
            raise MailError(said("api_silent", api=self.label, seconds=format(self.timeout, "g")), step) from None
        except requests.exceptions.SSLError as error:
            raise MailError(said("api_certificate_unverified", where=urlsplit(url).netloc, reason=reason(error)),
                            "tls") from None
        except (requests.RequestException, OAuthError) as error:
            raise MailError(said("api_unreachable", api=self.label, where=urlsplit(url).netloc,
                                 error=reason(error)), step) from None
        if response.status_code not in expected:
            raise api_error(response, self.label, step)
        return response


def reason(error: Exception) -> str:
    """The innermost cause of a requests failure, in a few words."""
    while error.__context__ is not None and error.__context__ is not error:
        error = error.__context__
    return " ".join(f"{type(error).__name__}: {error}".split())[:300]
