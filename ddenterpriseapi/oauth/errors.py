"""What provider errors mean and what the administrator should do about them."""

import re
from collections.abc import Mapping
from functools import partial

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..console_error import ConsoleError
from ..providers import PRESETS, Provider
from ..said import Said, said, sentences
from ..text import truncated
from .token_fields import FIELDS

AADSTS = re.compile(r"AADSTS(\d+)")

AADSTS_FIXES = {
    "50011": _l("The redirect URI is not registered exactly as sent: register the Authorized redirect URI shown "
                "on this page in the app registration (it is case-sensitive)."),
    "50194": _l("This app is single-tenant: enter your Directory (tenant) ID instead of common."),
    "7000215": _l("The client secret is wrong: paste the secret's Value, not its Secret ID."),
    "7000222": _l("The client secret has expired: create a new one under Certificates & secrets and paste it here."),
    "700016": _l("The application was not found in this tenant: check the Client ID and the Tenant."),
    "65001": _l("Consent is missing: authorize again and accept, or send the admin consent link of the setup "
                "guide to a tenant administrator."),
    "90094": _l("An administrator must grant consent for this app: send the admin consent link of the setup "
                "guide to a tenant administrator."),
    "65004": _l("The permissions were declined: authorize again and accept them."),
    "54005": _l("This authorization code was already used: start the authorization again."),
    "700082": _l("The refresh token expired after a long time unused: authorize again."),
    "70000": _l("The refresh token was revoked or has expired: authorize again."),
    "700027": _l("The certificate that signed the client assertion is not registered on the application: upload "
                 "its certificate under Certificates & secrets, or paste the certificate and key uploaded there."),
    "700024": _l("The client assertion was not within its valid time range: set this server's clock right (NTP)."),
    "500011": _l("Exchange Online was not found in this tenant: check the Tenant, and that it has Exchange Online."),
}

# What a provider's description says, when it names no AADSTS code (Google's service accounts); most specific first.
DESCRIPTION_FIXES = (
    ("Invalid email or User ID", _l(
        "The mailbox is not a user of the Google Workspace domain: list a mailbox of the domain where the service "
        "account has domain-wide delegation.")),
    ("Invalid JWT Signature", _l(
        "Google does not know the key that signed the assertion (deleted or disabled): create a new JSON key for "
        "the service account and choose it on the OAuth page.")),
    ("short-lived token", _l(
        "Google found the assertion outside its valid time range: set this server's clock right (NTP).")),
    ("Failed audience check", _l(
        "Google expects assertions at another token URL than the key file's token_uri: download a new JSON key.")),
)

OAUTH_ERROR_FIXES = {
    "access_denied": _l("Consent was refused. Authorize again and accept the requested permissions."),
    "invalid_client": _l("The provider rejected the client: check the Client ID and Client Secret."),
    "unauthorized_client": _l("This client may not use the authorization code flow: check its type "
                              "(a web application) at the provider."),
    "invalid_grant": _l("The provider refused the grant (revoked, expired, or already used): authorize again."),
    "invalid_scope": _l("The provider refused the requested scopes: check that the app may request them."),
    "redirect_uri_mismatch": _l("Register the Authorized redirect URI shown on this page with the provider, "
                                "exactly as shown."),
    "consent_required": _l("Consent is needed: authorize again and accept, or ask an administrator of the "
                           "account's organisation."),
}


FIELD_LABELS = {"client_id": _l("Client ID"), "client_secret": _l("Client Secret"),
                "authorization_url": _l("Authorization URL"), "token_url": _l("Token URL")}


APP_ONLY_FIXES = {  # when an application or a service account signs in by itself, no person involved
    "invalid_client": _l("The provider rejected the application's credentials: check the Client ID, the client "
                         "secret or certificate, and the Tenant."),
    "unauthorized_client": _l(
        "Domain-wide delegation is not granted to this service account: in the Google Admin console (Security > "
        "Access and data control > API controls > Manage domain-wide delegation) add its Client ID with the scope "
        "https://mail.google.com/."),
    "invalid_grant": _l("The provider refused the assertion: check that the mailbox belongs to the domain and that "
                        "this server's clock is right."),
    "invalid_scope": _l("The provider refused the scope: check that the application may request it."),
}


class OAuthError(ConsoleError):
    """A failure on the OAuth path, carrying a message for the administrator and the provider's error code."""

    api_status = 502

    def __init__(self, message: str | Said, code: str | None = None):
        super().__init__(message, step="oauth")
        self.code = code


class UnmatchedAnswer(OAuthError):
    """An answer on the redirect URI that belongs to no authorization of this browser session: anyone can send
    one, so it is logged, never audited."""


def explain(error: str | None, description: str | None = None, app_only: bool = False) -> Said:
    """The fix first, then the provider's error (whose description may end in trace ids nobody acts on); an
    application's or a service account's refusal gets their fixes."""
    return said("app_provider_answered" if app_only else "provider_answered", error=error, description=description)


def explained(error: str | None = None, description: str | None = None, fixes: Mapping = OAUTH_ERROR_FIXES) -> str:
    """explain() in the language of the moment. `fixes`: the fix for each error code, when the description says
    nothing more precise."""
    description = (description or "").strip()
    fix = described_fix(description) or fixes.get(error or "", "")
    answered = _("The provider answered %(error)s", error=first_line(error, 100)) if error else _(
        "The provider answered an error")
    if description:
        answered += f": {first_line(description)}"
    return f"{fix} {answered}.".strip()


def described_fix(description: str):
    """The fix for what the description says (an AADSTS code, a known phrase), or None."""
    match = AADSTS.search(description)
    if match:
        return AADSTS_FIXES.get(match.group(1))
    return next((fix for marker, fix in DESCRIPTION_FIXES if marker in description), None)


def first_line(text: str, limit: int = 300) -> str:
    """The first line of a provider's message, short enough for a page."""
    return truncated(text.splitlines()[0] if text else "", limit)


def provider_hint(provider: str, hint: str) -> str:
    """One of a provider's hints (missing_refresh_token_hint, reauthorization_hint), known by the provider's key."""
    return str(getattr(PRESETS.get(provider, PRESETS["custom"]), hint))


def refresh_refused(error: OAuthError, provider: Provider) -> Said:
    """Why a refresh token is dead, with the provider's advice."""
    return said("refresh_refused", error=error.said, provider=provider.key)


sentences({  # the OAuth path's failures by code, so the audit log words them in its reader's language
    "grant_parameters_changed": _l("The OAuth parameters changed (%(fields)s): the stored tokens were granted under "
                                   "the previous ones. Click Authorize to use the new parameters."),
    "provider_answered": explained,
    "app_provider_answered": partial(explained, fixes=APP_ONLY_FIXES),
    "provider_url_unusable": _l("A provider URL cannot be used: %(problem)s Check the URLs of the OAuth parameters "
                                "and of OAUTH_PROVIDER_OVERRIDES."),
    "token_answer_not_json": lambda status, kind=None: _(
        "The token endpoint answered HTTP %(status)s with %(kind)s instead of a token response: check the "
        "Token URL.", status=status, kind=kind or _("no content type")),
    "token_answer_unexplained": _l("The token endpoint answered HTTP %(status)s without an explanation."),
    "token_answer_invalid": lambda field: _(
        "The token endpoint's answer has an invalid %(field)s: expected %(expected)s.", field=field,
        expected=FIELDS[field][2] if field in FIELDS else "?"),
    "revocation_refused": _l("The provider could not revoke the token (HTTP %(status)s)."),
    "provider_timeout": _l("The provider did not answer in time. Try again; if it persists, check the URL and this "
                           "server's network access to it."),
    "provider_unreachable": _l("The provider could not be reached: check the URL and this server's network access "
                               "(proxy, firewall, DNS)."),
    "provider_answer_unusable": _l("The provider's answer could not be used (%(error)s)."),
    "provider_redirected": lambda status, host=None: _(
        "The provider answered HTTP %(status)s, a redirect to %(host)s; the console never follows redirects with "
        "secrets: enter the final URL.", status=status, host=host or _("an unnamed address")),
    "provider_answer_too_large": _l("The provider's answer is larger than %(size)s KiB: check the URL."),
    "authorization_expired": _l("This authorization took too long and expired. Click Authorize to start again."),
    "issuer_mismatch": _l("The answer names another authorization server (iss) than the one the request went to. "
                          "Click Authorize to start again."),
    "no_authorization_code": _l("The provider's answer carries no authorization code. Click Authorize to start "
                                "again."),
    "parameters_changed": _l("The OAuth parameters were changed after Authorize was clicked. Click Authorize to use "
                             "the new ones."),
    "no_refresh_token": lambda provider: " ".join(filter(None, (_(
        "The provider returned no refresh token, so the console could not keep sending."),
        provider_hint(provider, "missing_refresh_token_hint")))),
    "scope_not_granted": _l("The provider did not grant the %(scope)s permission that SMTP needs (granted: "
                            "%(granted)s). Grant it to the app, then authorize again."),
    "fields_missing": lambda fields: _("Enter the %(fields)s and save before authorizing.", fields=_(" and ").join(
        str(FIELD_LABELS.get(name, name)) for name in fields)),
    "not_authorized": _l("OAuth is not authorized yet: open the OAuth page and click Authorize."),
    "api_consent_required": _l("The transport on the Email server page needs the %(scope)s permission, which the "
                               "authorization did not ask for: open the OAuth page and click Authorize to grant it "
                               "(SMTP keeps working meanwhile)."),
    "api_consent_refused": _l("The provider refused a token for %(scope)s: %(error)s Add the permission to the app "
                              "registration (API permissions, delegated), grant consent, then click Authorize on the "
                              "OAuth page."),
    "refresh_refused": lambda error, provider: " ".join(filter(None, (
        _("The provider refused to refresh the access token."), str(error),
        provider_hint(provider, "reauthorization_hint")))),
})
