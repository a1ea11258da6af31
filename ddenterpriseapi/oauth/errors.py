"""What provider errors mean and what the administrator should do about them."""

import re

AADSTS = re.compile(r"AADSTS(\d+)")

AADSTS_FIXES = {
    "50011": "The redirect URI is not registered exactly as sent: register the Authorized redirect URI shown "
             "on this page in the app registration (it is case-sensitive).",
    "50194": "This app is single-tenant: enter your Directory (tenant) ID instead of common.",
    "7000215": "The client secret is wrong: paste the secret's Value, not its Secret ID.",
    "7000222": "The client secret has expired: create a new one under Certificates & secrets and paste it here.",
    "700016": "The application was not found in this tenant: check the Client ID and the Tenant.",
    "65001": "Consent is missing: authorize again and accept, or ask a tenant administrator to grant admin "
             "consent.",
    "90094": "An administrator must grant consent for this app: ask a tenant administrator to grant admin "
             "consent.",
    "65004": "The permissions were declined: authorize again and accept them.",
    "54005": "This authorization code was already used: start the authorization again.",
    "700082": "The refresh token expired after a long time unused: authorize again.",
    "70000": "The refresh token was revoked or has expired: authorize again.",
}

OAUTH_ERROR_FIXES = {
    "access_denied": "Consent was refused. Authorize again and accept the requested permissions.",
    "invalid_client": "The provider rejected the client: check the Client ID and Client Secret.",
    "unauthorized_client": "This client may not use the authorization code flow: check its type "
                           "(a web application) at the provider.",
    "invalid_grant": "The provider refused the grant (revoked, expired, or already used): authorize again.",
    "invalid_scope": "The provider refused the requested scopes: check that the app may request them.",
    "redirect_uri_mismatch": "Register the Authorized redirect URI shown on this page with the provider, "
                             "exactly as shown.",
    "consent_required": "Consent is needed: authorize again and accept, or ask an administrator of the "
                        "account's organisation.",
}

GOOGLE_TESTING_HINT = (
    "If this Google app is in the \"Testing\" publishing status, its refresh tokens expire after 7 days: "
    "publish the app (or make it Internal), then authorize again."
)


class OAuthError(Exception):
    """A failure on the OAuth path, carrying a message for the administrator."""

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code


def explain(error: str | None, description: str | None = None) -> str:
    """A sentence naming the provider's error, then the fix."""
    description = (description or "").strip()
    match = AADSTS.search(description)
    fix = AADSTS_FIXES.get(match.group(1)) if match else None
    fix = fix or OAUTH_ERROR_FIXES.get(error or "", "")
    said = f"The provider answered {error or 'an error'}"
    if description:
        said += f": {first_line(description)}"
    return f"{said}. {fix}".strip()


def first_line(text: str, limit: int = 300) -> str:
    """The first line of a provider's message, short enough for a page."""
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"
