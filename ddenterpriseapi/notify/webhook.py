"""Posting a notice to a webhook: https (or http on this machine), within the HTTP timeout in all, no redirects
followed, at most 64 KiB of answer read (the provider calls' bounded HTTP), never into a blocked private network."""

from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from flask_babel import gettext as _

from ..oauth.errors import OAuthError
from ..oauth.http import bounded
from ..runtime import Runtime
from ..validation import private_address_problem, url_problem


@dataclass(frozen=True)
class Outcome:
    """Whether a destination took the notice, and what it said (or what went wrong), in words."""

    ok: bool
    detail: str


def destination_problem(url: str, block_private_networks: bool) -> str | None:
    """Why the console may not post to this URL (checked on saving and again at every send), or None."""
    problem = url_problem(url)
    if problem or not block_private_networks:
        return problem
    return private_address_problem(urlsplit(url).hostname)


def post_notice(url: str, payload: dict, runtime: Runtime) -> Outcome:
    """POST the JSON; the outcome in words, whatever happens (a failure is reported, never raised)."""
    problem = destination_problem(url, runtime.block_private_networks)
    if problem:
        return Outcome(False, problem)
    try:
        with bounded(requests.Session()) as session:
            response = session.post(url, json=payload, timeout=runtime.http_timeout, allow_redirects=False)
    except OAuthError as error:  # a redirect, or an answer over the size cap
        return Outcome(False, error.message)
    except requests.Timeout:
        return Outcome(False, _("No answer within %(seconds)s s.", seconds=format(runtime.http_timeout, "g")))
    except requests.ConnectionError:
        return Outcome(False, _("Could not connect to %(host)s.", host=urlsplit(url).netloc))
    except requests.RequestException as error:
        return Outcome(False, _("The request failed (%(error)s).", error=type(error).__name__))
    if not 200 <= response.status_code < 300:
        return Outcome(False, _("The webhook answered HTTP %(status)s %(reason)s.", status=response.status_code,
                                reason=response.reason or ""))
    return Outcome(True, _("HTTP %(status)s", status=response.status_code))


def shown_url(url: str) -> str:
    """The URL as the notifications list shows it: chat webhooks carry their secret in the path, so only its first
    segment is kept."""
    parts = urlsplit(url)
    segments = parts.path.strip("/").split("/")
    path = "/" + segments[0] + ("/…" if len(segments) > 1 else "")
    return f"{parts.scheme}://{parts.netloc}{path}"
