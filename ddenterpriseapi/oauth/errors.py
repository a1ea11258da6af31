"""What provider errors mean and what the administrator should do about them."""

import re
from collections.abc import Mapping

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..console_error import ConsoleError
from ..text import truncated

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

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message, step="oauth")
        self.code = code


class UnmatchedAnswer(OAuthError):
    """An answer on the redirect URI that belongs to no authorization of this browser session: anyone can send
    one, so it is logged, never audited."""


def explain(error: str | None, description: str | None = None, fixes: Mapping = OAUTH_ERROR_FIXES) -> str:
    """The fix first, then the provider's error (whose description may end in trace ids nobody acts on). `fixes`:
    the fix for each error code, when the description says nothing more precise."""
    description = (description or "").strip()
    fix = described_fix(description) or fixes.get(error or "", "")
    said = _("The provider answered %(error)s", error=first_line(error, 100)) if error else _(
        "The provider answered an error")
    if description:
        said += f": {first_line(description)}"
    return f"{fix} {said}.".strip()


def described_fix(description: str):
    """The fix for what the description says (an AADSTS code, a known phrase), or None."""
    match = AADSTS.search(description)
    if match:
        return AADSTS_FIXES.get(match.group(1))
    return next((fix for marker, fix in DESCRIPTION_FIXES if marker in description), None)


def first_line(text: str, limit: int = 300) -> str:
    """The first line of a provider's message, short enough for a page."""
    return truncated(text.splitlines()[0] if text else "", limit)
