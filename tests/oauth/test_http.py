"""Slow, oversized and redirecting providers, played by real local servers: every call has a deadline and a cap."""

import html
import time
import tracemalloc

import pytest

from ddenterpriseapi.oauth import flow
from ddenterpriseapi.oauth.errors import OAuthError
from tests.helpers import CALLBACK, CLIENT
from tests.servers.raw_http import (
    RawHTTPServer,
    huge_body,
    redirect_to,
    token_response,
    trickled_body,
    trickled_headers,
)

HTTP_TIMEOUT = 2  # seconds; each trickle below would take 30 s or more


@pytest.fixture
def oauth_app(make_app, google_server):
    """A console whose Google preset points at the test server, waiting HTTP_TIMEOUT for each provider call."""
    return make_app(OAUTH_PROVIDER_OVERRIDES={"google": google_server.provider_override()}, HTTP_TIMEOUT=HTTP_TIMEOUT)


def exchange_at(google, token_url: str) -> tuple[str, float]:
    """Authorize with the Custom provider whose token URL is token_url; the page text and the seconds it took."""
    location = google.consent(google.authorize(
        "custom", authorization_url=f"{google.server.base_url}/o/oauth2/v2/auth", token_url=token_url,
        scopes="https://mail.google.com/ openid email"))
    started = time.monotonic()
    page = google.come_back(location)
    return html.unescape(page.get_data(as_text=True)), time.monotonic() - started


def parameters(**urls) -> flow.ClientParameters:
    """Client parameters for flow calls, with the given endpoint URLs."""
    values = {"authorization_url": "https://127.0.0.1/authorize", "token_url": "https://127.0.0.1/token"}
    return flow.ClientParameters(**values | urls, client_id=CLIENT[0], client_secret=CLIENT[1],
                                 redirect_uri=CALLBACK, scopes="openid", timeout=HTTP_TIMEOUT)


@pytest.mark.parametrize("answer", [trickled_body, trickled_headers])
def test_code_exchange_with_a_trickling_token_endpoint_ends_at_the_deadline(google, answer):
    with RawHTTPServer(answer) as hostile:
        text, elapsed = exchange_at(google, hostile.url)
    assert "did not answer in time" in text
    assert elapsed < HTTP_TIMEOUT + 2


@pytest.mark.parametrize("answer", [trickled_body, trickled_headers])
def test_refresh_with_a_trickling_token_endpoint_ends_at_the_deadline(app, answer):
    with app.app_context(), RawHTTPServer(answer) as hostile:
        started = time.monotonic()
        with pytest.raises(OAuthError, match="did not answer in time"):
            flow.refresh(parameters(token_url=hostile.url), "a-refresh-token")
    assert time.monotonic() - started < HTTP_TIMEOUT + 2


def test_oversized_token_response_is_refused(google):
    with RawHTTPServer(huge_body(5 * 1024 * 1024)) as hostile:
        text, _elapsed = exchange_at(google, hostile.url)
    assert "The provider's answer is larger than 64 KiB" in text


def test_oversized_token_response_is_not_read_into_memory(app):
    with app.app_context(), RawHTTPServer(huge_body(5 * 1024 * 1024)) as hostile:
        tracemalloc.start()
        try:
            with pytest.raises(OAuthError, match="larger than 64 KiB"):
                flow.exchange_code(parameters(token_url=hostile.url), "a-code", "a-verifier")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak < 1024 * 1024


def test_redirecting_token_endpoint_is_not_followed(google):
    with RawHTTPServer(token_response) as elsewhere:
        with RawHTTPServer(redirect_to(elsewhere.url)) as hostile:
            text, _elapsed = exchange_at(google, hostile.url)
    assert "answered HTTP 307, a redirect to 127.0.0.1" in text and "never follows redirects" in text
    assert len(hostile.requests) == 1 and elsewhere.requests == []


def test_redirecting_revocation_endpoint_is_not_followed(app):
    with app.app_context(), RawHTTPServer(token_response) as elsewhere:
        with RawHTTPServer(redirect_to(elsewhere.url)) as hostile:
            with pytest.raises(OAuthError, match="answered HTTP 307, a redirect to 127.0.0.1"):
                flow.revoke(parameters(revocation_url=hostile.url), "a-refresh-token")
    assert elsewhere.requests == []


INSECURE = "http://provider.example/endpoint"


def test_plain_http_to_another_host_is_refused_before_any_connection(app):
    with app.app_context(), RawHTTPServer(token_response) as token_endpoint:
        for call in (lambda: flow.refresh(parameters(token_url=INSECURE), "a-token"),
                     lambda: flow.revoke(parameters(revocation_url=INSECURE), "a-token"),
                     lambda: flow.exchange_code(parameters(token_url=token_endpoint.url, userinfo_url=INSECURE),
                                                "a-code", "a-verifier")):
            with pytest.raises(OAuthError, match="Use https://"):
                call()
        assert len(token_endpoint.requests) == 1
