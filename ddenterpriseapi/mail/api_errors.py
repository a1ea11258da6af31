"""What the providers' HTTPS APIs answer when they refuse a message, what it means for the message, and the fix."""

import email.utils
import time
from dataclasses import dataclass

import requests
from flask_babel import lazy_gettext as _l

from ..said import joined, said, sentences
from .errors import MailError

# What a refusal means: refresh the token and try once more; wait for an administrator; refuse this message for
# good; try again later (when Retry-After says, if it says).
TOKEN, ADMIN, MESSAGE, LATER = "token", "admin", "message", "later"


@dataclass(frozen=True)
class ApiFix:
    """An error code of Microsoft Graph (error.code) or of the Gmail API (errors[].reason): what to do about it."""

    code: str
    kind: str
    fix: str = ""


GRAPH_PERMISSION = _l(
    "Microsoft Graph refused: the token lacks the Mail.Send permission, or may not act for this mailbox. Delegated "
    "sign-in: add Microsoft Graph > Delegated > Mail.Send to the app registration's API permissions and click "
    "Authorize on the OAuth page (the authorized account must be the mailbox, or have Send As on it). Application "
    "sign-in: add Microsoft Graph > Application > Mail.Send and grant admin consent.")
GMAIL_PERMISSION = _l(
    "The Gmail API refused: the token lacks a Gmail scope. Delegated sign-in: click Authorize on the OAuth page to "
    "grant https://mail.google.com/. Service account: add https://mail.google.com/ (or "
    "https://www.googleapis.com/auth/gmail.send) to its domain-wide delegation, and enable the Gmail API in the "
    "Google Cloud project.")
TOO_LARGE = _l("The message is larger than the API accepts: send it with smaller attachments, or through SMTP.")

API_FIXES = (
    ApiFix("InvalidAuthenticationToken", TOKEN),
    ApiFix("authError", TOKEN),
    ApiFix("ErrorAccessDenied", ADMIN, GRAPH_PERMISSION),
    ApiFix("insufficientPermissions", ADMIN, GMAIL_PERMISSION),
    ApiFix("accessNotConfigured", ADMIN, _l(
        "The Gmail API is not enabled in the Google Cloud project of this client: enable it (APIs & Services > "
        "Library > Gmail API), then try again.")),
    ApiFix("failedPrecondition", ADMIN, _l(
        "Gmail refused to send for this account (Gmail may be turned off for it in the Google Admin console, or "
        "the account is suspended).")),
    ApiFix("MailboxNotEnabledForRESTAPI", ADMIN, _l(
        "Microsoft Graph sends only from Exchange Online mailboxes: this one is inactive, soft-deleted, has no "
        "Exchange Online licence, or is hosted on-premises. Use SMTP for it, or move it to Exchange Online.")),
    ApiFix("ErrorSendAsDenied", MESSAGE, _l(
        "The mailbox may not send as the message's From address: grant it Send As on that address (Exchange admin "
        "center, or Add-RecipientPermission <address> -AccessRights SendAs -Trustee <mailbox>), or set Sender of "
        "relayed messages to send as the mailbox on the Email server page.")),
    ApiFix("RequestBodyTooLarge", MESSAGE, TOO_LARGE),
    ApiFix("ErrorMessageSizeExceeded", MESSAGE, TOO_LARGE),
    ApiFix("uploadTooLarge", MESSAGE, TOO_LARGE),
    ApiFix("ErrorInvalidRecipients", MESSAGE, _l("Microsoft Graph found no valid recipient in the message.")),
    ApiFix("invalidArgument", MESSAGE, _l(
        "The Gmail API refused the message as malformed (a missing recipient, or an invalid header).")),
    ApiFix("rateLimitExceeded", LATER, _l("Gmail asks to slow down: the message waits and goes out later.")),
    ApiFix("userRateLimitExceeded", LATER, _l("Gmail asks to slow down: the message waits and goes out later.")),
    ApiFix("ApplicationThrottled", LATER, _l("Microsoft Graph asks to slow down: the message waits and goes out "
                                             "later.")),
)


class ApiError(MailError):
    """An HTTPS API refused a call: its answer, what it means (`kind`), and how long it asked us to wait."""

    def __init__(self, message, step: str, reply: str, kind: str, retry_after: float | None = None):
        super().__init__(message, step, reply, token_rejected=kind == TOKEN)
        self.kind, self.retry_after = kind, retry_after

    def api_details(self) -> dict:
        return {"step": self.step, "api_reply": self.reply, "retry_after": self.retry_after}


def status_kind(status: int) -> str:
    """What an answer means when its code is not a known one."""
    if status == 401:
        return TOKEN
    if status in (403, 404):
        return ADMIN
    if status in (408, 425, 429) or status >= 500:
        return LATER
    return MESSAGE


def error_code(response: requests.Response) -> tuple[str, str]:
    """The provider's error code and message: Graph's error.code, the Gmail API's errors[0].reason."""
    try:
        error = response.json().get("error") or {}
    except ValueError:
        return "", " ".join(response.text.split())[:200]
    if not isinstance(error, dict):
        return str(error), ""
    reasons = [item.get("reason", "") for item in error.get("errors") or [] if isinstance(item, dict)]
    code = error.get("code") if isinstance(error.get("code"), str) else next(iter(reasons), "")
    return code or error.get("status", ""), str(error.get("message", ""))


def retry_after(value: str | None) -> float | None:
    """Retry-After in seconds, given as seconds or as an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        return max(email.utils.parsedate_to_datetime(value).timestamp() - time.time(), 0)
    except (TypeError, ValueError):
        return None


def api_error(response: requests.Response, api: str, step: str) -> ApiError:
    """Explain an API's refusal, with its fix, and what it means for the message."""
    code, message = error_code(response)
    reply = " ".join(part for part in (str(response.status_code), code, message and f"({message})") if part)
    known = next((fix for fix in API_FIXES if fix.code == code), None)
    kind = known.kind if known else status_kind(response.status_code)
    wait = retry_after(response.headers.get("Retry-After"))
    fix = said("api_fix", error=code) if known and known.fix else None
    text = joined(said("api_refused", api=api, reply=reply), fix,
                  said("api_retry_after", seconds=round(wait)) if wait is not None else None)
    return ApiError(text, step, reply, kind, wait)


def known_api_fix(error: str) -> str:
    return str(next((fix.fix for fix in API_FIXES if fix.code == error), ""))


sentences({  # the HTTPS APIs' refusals by code, so the audit log words them in its reader's language
    "api_refused": _l("%(api)s answered %(reply)s."),
    "api_fix": known_api_fix,
    "api_retry_after": _l("It asks to wait %(seconds)s s before trying again."),
    "api_certificate_unverified": _l("The certificate of %(where)s could not be verified (%(reason)s). If a proxy "
                                     "inspects TLS here, configure SMTP_CA_BUNDLE with its certificate authority."),
    "api_unreachable": _l("%(api)s could not be reached at %(where)s (%(error)s)."),
    "api_silent": _l("%(api)s did not answer within %(seconds)s s."),
    "api_unexpected": _l("%(api)s answered %(status)s where %(expected)s was expected."),
})
