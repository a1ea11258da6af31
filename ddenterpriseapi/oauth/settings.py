"""The stored OAuth parameters, and the client parameters the flow needs, derived from them."""

from collections.abc import Mapping
from urllib.parse import urlencode, urlsplit

from sqlalchemy import select

from ..database import apply_changes, locked_singleton
from ..extensions import db
from ..models import OAuthConnection, OAuthSettings
from ..providers import APPLICATION, DELEGATED, SERVICE_ACCOUNT, SMTP, Provider, endpoints_for_script
from ..runtime import Runtime
from ..said import said
from ..text import lines
from .admin_setup import ExchangeSetup, WorkspaceDelegation, exchange_setup, graph_access_policy, workspace_delegation
from .credentials import Certificate, CredentialProblem, ServiceAccountKey, read_certificate, read_service_account_key
from .errors import OAuthError
from .flow import ClientParameters

CALLBACK_PATH = "/v2/oauth/redirect"
LOCAL_REDIRECT_URI = "http://localhost:8080/ddenterpriseapi" + CALLBACK_PATH
DEFAULT_PROVIDER = "google"  # what a new console's OAuth page offers first
# Each secret, and what it is sent with (a client secret) or signs for (a certificate, a service account's key): a
# change of one of those forgets it, unless a new one is given.
SECRETS = {
    "client_secret": ("provider", "cloud", "tenant", "token_url", "client_id"),
    "client_certificate": ("provider", "cloud", "tenant", "client_id"),
    "service_account_key": ("provider",),
}
ALTERNATIVES = {"client_secret": "client_certificate", "client_certificate": "client_secret"}  # one or the other
APP_ONLY = (APPLICATION, SERVICE_ACCOUNT)
GLOBAL_CLOUD = "global"


def get_settings() -> OAuthSettings:
    """The saved parameters, or unsaved defaults on a new console."""
    return db.session.get(OAuthSettings, 1) or OAuthSettings(id=1, provider=DEFAULT_PROVIDER, sign_in=DELEGATED,
                                                             cloud=GLOBAL_CLOUD, unlisted_sender="refuse")


def provider_of(settings: OAuthSettings, registry: Mapping[str, Provider]) -> Provider:
    """The saved provider as it is in the saved national cloud."""
    return registry[settings.provider].in_cloud(settings.cloud)


def chosen_provider() -> str:
    """The provider chosen on the OAuth page, read without decrypting the client secret."""
    return db.session.scalar(select(OAuthSettings.provider).where(OAuthSettings.id == 1)) or DEFAULT_PROVIDER


def save_settings(values: dict) -> tuple[OAuthSettings, list[str]]:
    """Store the parameters (a blank client secret keeps the stored one, unless the client or the provider it was
    entered for changed; a new client secret replaces a stored certificate, and the reverse); the names of those
    that changed."""
    settings = locked_singleton(OAuthSettings)
    changed = apply_changes(settings, values, SECRETS)
    for new, other in ALTERNATIVES.items():
        if values.get(new) and new in changed and not values.get(other) and getattr(settings, other) is not None:
            setattr(settings, other, None)
            changed.append(other)
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
        "scopes": app_scope(provider) if is_app_only(settings) else provider.scopes,
    }


def is_app_only(settings: OAuthSettings) -> bool:
    """No one signs in: the console asks for tokens with the application's own credential."""
    return settings.sign_in in APP_ONLY


def consent_scopes(scopes: str, provider: Provider, transport: str) -> str:
    """What an authorization asks for: the scopes in force and, when the transport is the provider's HTTPS API on a
    resource of its own (Microsoft Graph), that API's permission after them (the code's token serves the first)."""
    extra = provider.api_resource() if transport == provider.mail_api else None
    return f"{scopes} {extra}" if extra and extra not in scopes.split() else scopes


def app_scope(provider: Provider) -> str:
    """What an app-only token is asked for: the provider's application scope, else (Google's service accounts) the
    SMTP scope a person would grant, its first."""
    return provider.app_scope or next(iter(provider.scopes.split()), "")


def page_presets(registry: Mapping[str, Provider]) -> dict[str, dict]:
    """What the OAuth page's script needs to follow the provider, its cloud and the sign-in: each provider's
    sign-ins, and its greyed endpoints in each of its clouds (or in its one worldwide service)."""
    presets = {}
    for key, provider in registry.items():
        clouds = {cloud: provider.in_cloud(cloud) for cloud in provider.clouds or (GLOBAL_CLOUD,)}
        presets[key] = {
            **endpoints_for_script({key: provider})[key],
            "sign_ins": list(provider.sign_ins),
            "clouds": {cloud: {**endpoints_for_script({key: there})[key], "app_scope": app_scope(there)}
                       for cloud, there in clouds.items()},
        }
    return presets


def mailbox_list(settings: OAuthSettings) -> list[str]:
    """The mailboxes app-only sign-in sends as; the first is the default one."""
    return lines(settings.mailboxes)


def stored_certificate(settings: OAuthSettings) -> Certificate | None:
    """The stored application certificate, read (for what the page shows of it and its expiry)."""
    return _read(read_certificate, settings.client_certificate)


def stored_key(settings: OAuthSettings) -> ServiceAccountKey | None:
    """The stored service account key, read (for what the page shows of it)."""
    return _read(read_service_account_key, settings.service_account_key)


def _read(reader, material: str | None):
    """Material the form checked before storing it; None when there is none (or it no longer reads)."""
    if not material:
        return None
    try:
        return reader(material)
    except CredentialProblem:
        return None


def exchange_setup_of(settings: OAuthSettings, registry: Mapping[str, Provider],
                      transport: str = SMTP) -> ExchangeSetup | None:
    """The Exchange Online PowerShell for the saved application and transport, once its tenant and client ID are
    saved: SMTP's mailbox permissions, or Microsoft Graph's access policy."""
    provider = provider_of(settings, registry)
    if settings.sign_in != APPLICATION or not (settings.tenant and settings.client_id):
        return None
    national = settings.cloud in provider.clouds and settings.cloud != GLOBAL_CLOUD
    environment = provider.exchange_environment if national else None
    if transport == provider.mail_api:
        return graph_access_policy(settings.tenant, settings.client_id, mailbox_list(settings), environment)
    return exchange_setup(settings.tenant, settings.client_id, settings.enterprise_object_id,
                          mailbox_list(settings), environment)


def workspace_delegation_of(settings: OAuthSettings, registry: Mapping[str, Provider]) -> WorkspaceDelegation | None:
    """What a Workspace administrator enters for the saved service account, once its key file is stored."""
    key = stored_key(settings) if settings.sign_in == SERVICE_ACCOUNT else None
    return workspace_delegation(key.client_id, app_scope(provider_of(settings, registry))) if key else None


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
    missing = [name for name, value in (
        ("client_id", settings.client_id), ("client_secret", settings.client_secret),
        ("authorization_url", urls["authorization_url"]), ("token_url", urls["token_url"]),
    ) if not value]
    if missing:
        raise OAuthError(said("fields_missing", fields=missing))
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


def admin_consent_link(settings: OAuthSettings, runtime: Runtime, seen_from: str | None = None,
                       transport: str = SMTP) -> str | None:
    """Where a tenant administrator grants consent for the whole organisation (Microsoft), once a client is set: to
    the delegated permissions, or to the application permission for app-only sign-in, of the transport."""
    provider = provider_of(settings, runtime.providers)
    if not provider.admin_consent_url or not settings.client_id:
        return None
    scope = app_scope(provider) if settings.sign_in == APPLICATION else provider.admin_consent_scope
    if transport == provider.mail_api:  # the HTTPS API's permission: in place of SMTP's for the application
        scope = provider.api_app_scope if settings.sign_in == APPLICATION else f"{scope} {provider.api_app_scope}"
    query = urlencode({"client_id": settings.client_id, "redirect_uri": redirect_uri(settings, runtime, seen_from),
                       "scope": scope})
    return f"{provider.endpoint(provider.admin_consent_url, settings.tenant)}?{query}"
