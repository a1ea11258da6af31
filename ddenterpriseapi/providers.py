"""OAuth providers as data: endpoints, scopes, extra parameters and SMTP defaults per provider."""

import dataclasses
import json
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l

from .validation import url_problem

DELEGATED, APPLICATION, SERVICE_ACCOUNT = "delegated", "application", "service_account"
SMTP, GRAPH, GMAIL_API = "smtp", "graph", "gmail_api"
TRANSPORT_LABELS = {SMTP: "SMTP", GRAPH: "Microsoft Graph", GMAIL_API: "Gmail API"}
SIGN_IN_LABELS = {
    DELEGATED: _l("Delegated (a user signs in)"),
    APPLICATION: _l("Application (no user)"),
    SERVICE_ACCOUNT: _l("Service account (Google Workspace)"),
}


@dataclass(frozen=True)
class Cloud:
    """A national cloud of one provider: its own sign-in, token and SMTP servers, and scopes on its own hosts."""

    key: str
    label: str
    fields: dict = field(default_factory=dict)  # the provider's fields that differ from its global cloud's


@dataclass(frozen=True)
class Provider:
    """Everything that differs between OAuth providers."""

    key: str
    label: str
    authorization_url: str = ""
    token_url: str = ""
    revocation_url: str | None = None
    userinfo_url: str | None = None
    admin_consent_url: str | None = None
    admin_consent_scope: str | None = None  # what a tenant administrator consents to, for the whole organisation
    issuer: str | None = None  # RFC 9207 "iss"; {tenant} stands for any tenant (it names the GUID, not an alias)
    scopes: str = ""
    extra_authorization_params: dict = field(default_factory=dict)
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_hosts: tuple[str, ...] = ()  # the only SMTP servers its access tokens are sent to (with smtp_host)
    uses_tenant: bool = False
    editable_endpoints: bool = False
    refresh_with_scopes: bool = False  # Microsoft refuses a refresh that does not name the scopes again
    missing_refresh_token_hint: str = ""
    reauthorization_hint: str = ""  # added when the provider refuses a refresh token
    testing_token_days: int | None = None  # an app in the "Testing" publishing status: its refresh tokens die then
    sending_rate: int | None = None  # messages per minute the outbox paces itself to (None: unpaced)
    max_recipients: int = 100  # per message, envelope recipients (To, Cc and Bcc)
    max_message_bytes: int = 25 * 1024 * 1024
    guide: str | None = None  # the setup guide's section for this provider (a template)
    sign_ins: tuple[str, ...] = (DELEGATED,)  # who may sign in: a person, the application, a service account
    app_scope: str | None = None  # what an application's or a service account's token is asked for
    exchange_environment: str | None = None  # Connect-ExchangeOnline's -ExchangeEnvironmentName, in the PowerShell
    clouds: dict[str, Cloud] = field(default_factory=dict)  # national clouds; none: one worldwide service
    overridden: frozenset[str] = frozenset()  # fields OAUTH_PROVIDER_OVERRIDES set, which a cloud leaves alone
    # Its HTTPS API for a ready MIME message, for when SMTP is closed: which one, where, and the scopes it takes.
    mail_api: str | None = None  # GRAPH or GMAIL_API
    api_url: str = ""
    api_scope: str = ""  # what a person grants for it (Gmail: mail.google.com, so the SMTP token serves it too)
    api_app_scope: str = ""  # what an application's token is asked for
    api_max_message_bytes: int = 0  # the largest message its HTTPS API takes
    consent_refused_marker: str | None = None  # in a refused refresh for another resource: consent is missing

    @property
    def transports(self) -> tuple[str, ...]:
        """The transports this provider offers: SMTP, and its HTTPS API if it has one."""
        return (SMTP, self.mail_api) if self.mail_api else (SMTP,)

    def api_resource(self) -> str | None:
        """The scope a person's token must be asked for apart for the HTTPS API (Microsoft: a token serves one
        resource); None when the authorization's own token serves it (Google)."""
        return None if self.api_scope in self.scopes.split() else self.api_scope

    def in_cloud(self, cloud: str | None) -> "Provider":
        """This provider as it is in a national cloud (the global one for an unknown key)."""
        chosen = self.clouds.get(cloud or "")
        if chosen is None:
            return self
        return dataclasses.replace(self, **{name: value for name, value in chosen.fields.items()
                                            if name not in self.overridden})

    def endpoint(self, template: str | None, tenant: str | None) -> str | None:
        """An endpoint URL with the tenant filled in."""
        if template is None:
            return None
        return template.replace("{tenant}", tenant or "common")

    def accepts_issuer(self, issuer: str, authorization_url: str) -> bool:
        """Whether an authorization answer's iss names this provider; for Custom, the authorization URL's server."""
        if self.issuer is None:
            expected, received = urlsplit(authorization_url), urlsplit(issuer)
            return (received.scheme, received.netloc) == (expected.scheme, expected.netloc)
        pattern = re.escape(self.issuer).replace(re.escape("{tenant}"), "[^/]+")
        return re.fullmatch(pattern, issuer) is not None

    def token_hosts(self, custom_hosts: str | None = None) -> set[str]:
        """The SMTP hosts an access token of this provider may be sent to (Custom: the administrator's list)."""
        hosts = {*self.smtp_hosts, self.smtp_host, *(custom_hosts or "").replace(",", " ").split()}
        return {host.lower().rstrip(".") for host in hosts if host}


def microsoft_cloud(login: str, exchange: str, smtp_host: str, exchange_environment: str, graph: str) -> dict:
    """A Microsoft national cloud's endpoints: Entra ID at `login`, Exchange Online at `exchange`, Microsoft Graph at
    `graph`."""
    return dict(
        **graph_api(graph),
        authorization_url=f"{login}/{{tenant}}/oauth2/v2.0/authorize",
        token_url=f"{login}/{{tenant}}/oauth2/v2.0/token",
        admin_consent_url=f"{login}/{{tenant}}/v2.0/adminconsent",
        issuer=f"{login}/{{tenant}}/v2.0",
        admin_consent_scope=f"{exchange}/.default",
        app_scope=f"{exchange}/.default",
        scopes=f"{exchange}/SMTP.Send offline_access openid email",
        smtp_host=smtp_host,
        exchange_environment=exchange_environment,
    )


def graph_api(graph: str) -> dict:
    """Microsoft Graph's sendMail in one cloud: its own resource, Mail.Send delegated or as an application."""
    return dict(mail_api=GRAPH, api_url=f"{graph}/v1.0", api_scope=f"{graph}/Mail.Send",
                api_app_scope=f"{graph}/.default", api_max_message_bytes=150 * 1024 * 1024)


PRESETS = {
    "google": Provider(
        key="google",
        label="Google",
        authorization_url="https://accounts.google.com/o/oauth2/v2/auth",
        token_url="https://oauth2.googleapis.com/token",
        revocation_url="https://oauth2.googleapis.com/revoke",
        userinfo_url="https://openidconnect.googleapis.com/v1/userinfo",
        issuer="https://accounts.google.com",
        scopes="https://mail.google.com/ openid email",
        extra_authorization_params={"access_type": "offline", "prompt": "consent"},
        smtp_host="smtp.gmail.com",
        missing_refresh_token_hint=_l(
            "Google returns a refresh token only on a fresh consent: remove this app's access at "
            "myaccount.google.com/permissions, then authorize again."
        ),
        guide="oauth/guide/google.html",
        sign_ins=(DELEGATED, SERVICE_ACCOUNT),
        app_scope="https://mail.google.com/",
        sending_rate=60,  # Gmail has no published rate but throttles bursts (421 4.7.0)
        max_recipients=100,  # through SMTP
        reauthorization_hint=_l(
            "If this Google app is in the \"Testing\" publishing status, its refresh tokens expire after 7 days: "
            "publish the app (or make it Internal), then authorize again."
        ),
        testing_token_days=7,
        mail_api=GMAIL_API,
        api_url="https://gmail.googleapis.com",
        api_scope="https://mail.google.com/",
        api_app_scope="https://mail.google.com/",
        api_max_message_bytes=35 * 1024 * 1024,
    ),
    "microsoft": Provider(
        key="microsoft",
        label="Microsoft",
        guide="oauth/guide/microsoft.html",
        authorization_url="https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize",
        token_url="https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
        admin_consent_url="https://login.microsoftonline.com/{tenant}/v2.0/adminconsent",
        admin_consent_scope="https://outlook.office365.com/.default",
        issuer="https://login.microsoftonline.com/{tenant}/v2.0",
        scopes="https://outlook.office.com/SMTP.Send offline_access openid email",
        smtp_host="smtp.office365.com",
        # Personal Outlook.com accounts, and the national clouds (US Government, China).
        smtp_hosts=("smtp-mail.outlook.com", "smtp.office365.us", "smtp.partner.outlook.cn"),
        uses_tenant=True,
        refresh_with_scopes=True,
        sending_rate=30,  # Exchange Online's limit per mailbox for SMTP submission
        max_recipients=500,
        max_message_bytes=35 * 1024 * 1024,
        sign_ins=(DELEGATED, APPLICATION),
        app_scope="https://outlook.office365.com/.default",
        exchange_environment="O365Default",
        **graph_api("https://graph.microsoft.com"),
        consent_refused_marker="AADSTS65001",
        clouds={
            "global": Cloud("global", _l("Global")),
            "usgov": Cloud("usgov", _l("US Government (GCC High)"), microsoft_cloud(
                login="https://login.microsoftonline.us", exchange="https://outlook.office365.us",
                smtp_host="smtp.office365.us", exchange_environment="O365USGovGCCHigh",
                graph="https://graph.microsoft.us")),
            "china": Cloud("china", _l("China (21Vianet)"), microsoft_cloud(
                login="https://login.chinacloudapi.cn", exchange="https://partner.outlook.cn",
                smtp_host="smtp.partner.outlook.cn", exchange_environment="O365China",
                graph="https://microsoftgraph.chinacloudapi.cn")),
        },
        missing_refresh_token_hint=_l(
            "Microsoft returns a refresh token only when the offline_access permission is granted: "
            "add it to the app registration's API permissions, then authorize again."
        ),
    ),
    "custom": Provider(
        key="custom",
        label=_l("Custom"),
        editable_endpoints=True,
        guide="oauth/guide/custom.html",
        missing_refresh_token_hint=_l(
            "Check that the client may use refresh tokens (often an offline_access scope), then authorize again."
        ),
    ),
}

OVERRIDABLE_FIELDS = {
    "authorization_url", "token_url", "revocation_url", "userinfo_url", "admin_consent_url", "admin_consent_scope",
    "issuer", "scopes",
    "smtp_host", "smtp_port", "smtp_security", "sending_rate", "max_recipients", "max_message_bytes", "api_url",
}
URL_FIELDS = ("authorization_url", "token_url", "revocation_url", "userinfo_url", "admin_consent_url", "api_url")


def parse_overrides(raw) -> dict:
    """Validate OAUTH_PROVIDER_OVERRIDES, given as a dict or as JSON text."""
    overrides = json.loads(raw) if isinstance(raw, str) else dict(raw or {})
    for key, fields in overrides.items():
        if key not in PRESETS:
            raise ValueError(f"OAUTH_PROVIDER_OVERRIDES: unknown provider {key!r}")
        unknown = set(fields) - OVERRIDABLE_FIELDS
        if unknown:
            raise ValueError(f"OAUTH_PROVIDER_OVERRIDES[{key!r}]: unknown fields {sorted(unknown)}")
        _check_urls(key, fields)
    return overrides


def _check_urls(key: str, fields: dict) -> None:
    """Override URLs carry the same secrets as the presets': https, or http on loopback only, as on the form."""
    for name in URL_FIELDS:
        value = fields.get(name)
        if value is not None:
            problem = url_problem(value if isinstance(value, str) else "")
            if problem:
                raise ValueError(f"OAUTH_PROVIDER_OVERRIDES[{key!r}].{name}: {problem}")


def build_registry(overrides: dict) -> dict[str, Provider]:
    """The presets with the operator's overrides applied."""
    return {
        key: dataclasses.replace(preset, **overrides.get(key, {}), overridden=frozenset(overrides.get(key, {})))
        for key, preset in PRESETS.items()
    }


def endpoints_for_script(registry: dict[str, Provider]) -> dict[str, dict]:
    """What the OAuth page's script needs to fill a preset's greyed endpoints as the provider changes."""
    return {key: {"authorization_url": p.authorization_url, "token_url": p.token_url, "scopes": p.scopes,
                  "editable": p.editable_endpoints, "uses_tenant": p.uses_tenant,
                  "testing": bool(p.testing_token_days)}
            for key, p in registry.items()}


def smtp_for_script(registry: dict[str, Provider], chosen: Provider | None = None) -> dict[str, dict]:
    """What the email server page's script needs to fill in a provider's SMTP server when OAuth is chosen: the
    chosen provider as it is in its national cloud, and every cloud's SMTP hosts (`hosts`), which the script takes
    for the provider's own."""
    shown = {**registry, **({chosen.key: chosen} if chosen else {})}
    return {key: {"host": p.smtp_host, "port": p.smtp_port, "security": p.smtp_security,
                  "hosts": cloud_smtp_hosts(registry[key])}
            for key, p in shown.items() if p.smtp_host}


def cloud_smtp_hosts(provider: Provider) -> list[str]:
    """The provider's SMTP host in each of its clouds, the global one first."""
    hosts = [provider.smtp_host, *(provider.in_cloud(cloud).smtp_host for cloud in provider.clouds)]
    return list(dict.fromkeys(host for host in hosts if host))
