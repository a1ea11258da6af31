"""The Notifications page: where notifications go, the test notification, and what was told lately."""

from datetime import UTC, datetime

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .. import audit
from ..auth.guard import requester
from ..extensions import current_runtime
from ..mail.server import get_mail_server
from ..saving import record_changes
from . import bp
from .forms import NotificationSettingsForm
from .history import lasting_incidents, recent_notifications
from .settings import SECRETS, get_notification_settings, save_notification_settings
from .watch import send_test

CHANNEL_LABELS = {"webhook": _l("Webhook"), "outbox": _l("Email via the outbox"),
                  "fallback": _l("Email via the fallback server"), "email": _l("Email")}
STATE_LABELS = {"opened": _l("Opened"), "reminder": _l("Reminder"), "resolved": _l("Resolved"), "test": _l("Test")}
SEVERITY_LABELS = {"critical": _l("Critical"), "warning": _l("Warning")}


@bp.route("/configuration/notifications", methods=["GET", "POST"])
def settings():
    """Save where notifications go, or save and send a test notification showing each outcome."""
    stored, runtime = get_notification_settings(), current_runtime()
    form = NotificationSettingsForm(obj=stored, block_private_networks=runtime.block_private_networks,
                                    password_stored=bool(stored.fallback_password),
                                    server_sender=get_mail_server().sender_address)
    results = None
    if form.validate_on_submit():
        values = form.values()
        stored, changed = save_notification_settings(values)
        record_changes("notification_settings_changed", values, changed, SECRETS, _(
            "The stored password of the fallback server was forgotten because its host or port changed: it is sent "
            "only to the server it was entered for. Type the password again."))
        if not form.send_test.data:
            flash(_("Notification settings saved."), "success")
            return redirect(url_for(".settings"))
        results = send_test(runtime, current_user.username, datetime.now(UTC))
        audit.record("test_notification_sent", requester(), wording="destinations_took_it",
                     took=sum(result.ok for result in results), destinations=len(results))
        if not results:
            flash(_("There is nowhere to send to: enter a webhook URL or an email recipient."), "warning")
    return render_template("notify/settings.html", form=form, stored=stored, results=results,
                           incidents=lasting_incidents(), notifications=recent_notifications(),
                           channel_labels=CHANNEL_LABELS, state_labels=STATE_LABELS, severity_labels=SEVERITY_LABELS)
