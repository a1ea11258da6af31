"""The audit log in the reader's language: events store codes and values, worded only when the page is shown."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .api.forms import SCOPE_LABELS
from .models import AuditEvent
from .said import SENTENCES, Said, sentences

ACTION_LABELS = {
    "admin_created": _l("admin created"),
    "admin_removed": _l("admin removed"),
    "api_key_created": _l("api key created"),
    "api_key_revoked": _l("api key revoked"),
    "app_only_checked": _l("app-only sign-in checked"),
    "authorization_failed": _l("authorization failed"),
    "authorized": _l("authorized"),
    "disconnected": _l("authorization removed"),
    "email_server_changed": _l("email server changed"),
    "encryption_key_rotated": _l("encryption key rotated"),
    "login": _l("login"),
    "login_failed": _l("login failed"),
    "login_refused": _l("login refused"),
    "logout": _l("logout"),
    "notification_settings_changed": _l("notification settings changed"),
    "oauth_settings_changed": _l("oauth settings changed"),
    "outbox_message_cancelled": _l("outbox message cancelled"),
    "outbox_message_retried": _l("outbox message retried"),
    "outbox_message_sent_again": _l("outbox message sent again"),
    "password_changed": _l("password changed"),
    "password_check_failed": _l("password check failed"),
    "password_check_refused": _l("password check refused"),
    "reauthorization_required": _l("reauthorization required"),
    "relay_auth_failed": _l("relay authentication failed"),
    "sessions_ended": _l("sessions ended"),
    "test_email_failed": _l("test email failed"),
    "test_email_sent": _l("test email sent"),
    "test_notification_sent": _l("test notification sent"),
}
WORDINGS = sentences({  # an event's wording code: the sentence its values fill in
    "wrong_credentials": _l("wrong username or password"),
    "sent_to": _l("to %(recipient)s"),
    "authorized_as": _l("as %(account)s"),
    "sessions_logged_out": _l("other sessions logged out: %(count)s"),
    "secrets_reencrypted": _l("secrets re-encrypted: %(count)s"),
    "destinations_took_it": _l("%(took)s of %(destinations)s destinations took it"),
    "unknown_key": _l("AUTH with an unknown or revoked key"),
    "key_for_api_only": _l("AUTH with the key %(key)s, which is limited to the API"),
    "message": _l("message %(id)s"),
    "message_copied": _l("message %(id)s, copied as %(copy)s"),
    "failed_to": _l("to %(recipient)s: %(reason)s"),
    "first_administrator": _l("the first administrator"),
    "mailboxes_checked": lambda ok, checked, failed=None: _(
        "%(ok)s of %(checked)s mailboxes signed in", ok=ok, checked=checked) + (
        "; " + _("failed: %(mailboxes)s", mailboxes=failed) if failed else ""),
    "api_key": lambda name, prefix, scope: f"{name} ({prefix}…), {SCOPE_LABELS.get(scope, scope)}",
})


def action_label(action: str) -> str:
    """An audit action in words, in the page's language."""
    return str(ACTION_LABELS.get(action, action.replace("_", " ")))


def describe(event: AuditEvent) -> str:
    """The event's details in the page's language; text that needs no words (a name, a server's reply) follows, and
    events written before details were stored as codes show their text as it was written."""
    worded = Said.from_data(event.wording, event.params).shown() if event.wording in SENTENCES else ""
    return ": ".join(part for part in (worded, event.detail) if part)
