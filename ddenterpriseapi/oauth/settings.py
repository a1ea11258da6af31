"""The stored OAuth parameters, and the client parameters the flow needs, derived from them."""

from collections.abc import Mapping
from urllib.parse import urlencode, urlsplit

from flask_babel import gettext as _
from sqlalchemy import select

from ..database import apply_changes, locked_singleton
from ..extensions import db
from ..models import OAuthConnection, OAuthSettings
from ..providers import Provider
from ..runtime import Runtime
from .errors import OAuthError
from .flow import ClientParameters

CALLBACK_PATH = "/v2/oauth/redirect"
LOCAL_REDIRECT_URI = "http://localhost:8080/ddenterpriseapi" + CALLBACK_PATH
DEFAULT_PROVIDER = "google"  # what a new console's OAuth page offers first
SECRETS = {"client_secret": ("provider", "tenant", "token_url", "client_id")}  # what a client secret is sent with


def get_settings() -> OAuthSettings:
    """The saved parameters, or unsaved defaults on a new console."""
    return db.session.get(OAuthSettings, 1) or OAuthSettings(id=1, provider=DEFAULT_PROVIDER)


def provider_of(settings: OAuthSettings, registry: Mapping[str, Provider]) -> Provider:
    """The saved provider as it is in the saved national cloud."""
    return registry[settings.provider].in_cloud(settings.cloud)


def chosen_provider() -> str:
    """The provider chosen on the OAuth page, read without decrypting the client secret."""
    return db.session.scalar(select(OAuthSettings.provider).where(OAuthSettings.id == 1)) or DEFAULT_PROVIDER


def save_settings(values: dict) -> tuple[OAuthSettings, list[str]]:
    """Store the parameters (a blank client secret keeps the stored one, unless the client or the provider it was
    entered for changed); the names of those that changed."""
    settings = locked_singleton(OAuthSettings)
    changed = apply_changes(settings, values, SECRETS)
    db.session.commit()
    return settings, changed


def endpoints(settings: OAuthSettings, registry: Mapping[str, Provider]) -> dict[str, str | None]:
    """Authorization URL, token URL and scopes in force: the preset's for Google and Microsoft."""
    provider = provider_of(settings, registry)
    if provider.editable_endpoints:
        return {"authorization_url": settings.authorization_url, "token_url": settings.token_url,
                "scopes": settings.scopes}
    return {
        "authorization_url": provider.endpoint(provider.authorization_url, settings.tenant),
        "token_url": provider.endpoint(provider.token_url, settings.tenant),
        "scopes": provider.scopes,
    }


def default_redirect_uri(public_url: str | None, seen_from: str | None = None) -> str:
    """This console's public callback address: from PUBLIC_URL, else as a request (through trusted proxies) saw
    it, else the local address the run command serves."""
    if public_url:
        return public_url.rstrip("/") + CALLBACK_PATH
    return seen_from or LOCAL_REDIRECT_URI


def redirect_uri_to_store(typed: str | None, public_url: str | None, seen_from: str) -> str | None:
    """None while the redirect URI is PUBLIC_URL's (it follows that setting); else the one in force, fixed from
    now on, so that it keeps matching what was registered whatever address the page is opened at next."""
    if public_url:
        return None if typed in (None, default_redirect_uri(public_url)) else typed
    return typed or seen_from


def off_callback_path(uri: str | None, public_url: str | None, seen_from: str) -> str | None:
    """The console's callback path, when a redirect URI names another one: the provider would send the browser
    to a page the console does not serve."""
    expected = urlsplit(default_redirect_uri(public_url, seen_from)).path
    if uri and urlsplit(uri).path.rstrip("/") != expected.rstrip("/"):
        return expected
    return None


def moved_host(saved: str | None, seen_from: str) -> str | None:
    """The saved redirect URI's host when this page was opened at another one: the provider's answer would land
    where this browser's login is unknown."""
    there, here = urlsplit(saved or "").netloc.lower(), urlsplit(seen_from).netloc.lower()
    return there if there and there != here else None


def redirect_uri(settings: OAuthSettings, runtime: Runtime, seen_from: str | None = None) -> str:
    """The redirect URI in force: the saved one, else the default."""
    return settings.redirect_uri or default_redirect_uri(runtime.public_url, seen_from)


def client_parameters(settings: OAuthSettings, runtime: Runtime, seen_from: str | None = None) -> ClientParameters:
    """What the flow needs, or an OAuthError naming what is missing."""
    provider = provider_of(settings, runtime.providers)
    urls = endpoints(settings, runtime.providers)
    missing = [label for label, value in (
        (_("Client ID"), settings.client_id), (_("Client Secret"), settings.client_secret),
        (_("Authorization URL"), urls["authorization_url"]), (_("Token URL"), urls["token_url"]),
    ) if not value]
    if missing:
        raise OAuthError(_("Enter the %(fields)s and save before authorizing.", fields=_(" and ").join(missing)))
    return ClientParameters(
        authorization_url=urls["authorization_url"],
        token_url=urls["token_url"],
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        redirect_uri=redirect_uri(settings, runtime, seen_from),
        scopes=urls["scopes"] or "",
        revocation_url=provider.endpoint(provider.revocation_url, settings.tenant),
        userinfo_url=provider.endpoint(provider.userinfo_url, settings.tenant),
        extra_authorization_params=provider.extra_authorization_params,
        refresh_with_scopes=provider.refresh_with_scopes,
        timeout=runtime.http_timeout,
    )


def previous_provider(connection: OAuthConnection | None, settings: OAuthSettings,
                      registry: dict[str, Provider]) -> str | None:
    """The name of the provider that issued the stored tokens, when another one is saved now."""
    if connection is None or connection.provider == settings.provider:
        return None
    return str(registry[connection.provider].label) if connection.provider in registry else connection.provider


def admin_consent_link(settings: OAuthSettings, runtime: Runtime, seen_from: str | None = None) -> str | None:
    """Where a tenant administrator grants consent for the whole organisation (Microsoft), once a client is set."""
    provider = provider_of(settings, runtime.providers)
    if not provider.admin_consent_url or not settings.client_id:
        return None
    query = urlencode({"client_id": settings.client_id, "redirect_uri": redirect_uri(settings, runtime, seen_from),
                       "scope": provider.admin_consent_scope})
    return f"{provider.endpoint(provider.admin_consent_url, settings.tenant)}?{query}"
