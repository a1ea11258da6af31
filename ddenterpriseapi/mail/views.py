"""The email server page and the test email."""

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import audit
from ..console_error import ConsoleError
from ..database import forgotten_secrets
from ..oauth.settings import get_settings
from ..oauth.tokens import get_connection
from ..providers import providers, smtp_for_script
from . import bp
from .forms import MailServerForm
from .sending import send_test_email
from .server import SECRETS, get_mail_server, save_mail_server
from .smtp import Trace
from .status import get_delivery_status


@bp.route("/configuration/email-server", methods=["GET", "POST"])
def settings():
    stored, oauth = get_mail_server(), get_settings()
    form = MailServerForm(obj=stored, provider=providers()[oauth.provider], custom_hosts=oauth.smtp_hosts,
                          block_private_networks=current_app.config["BLOCK_PRIVATE_NETWORKS"])
    trace = None
    if form.validate_on_submit():
        values = form.values()
        stored, changed = save_mail_server(values, form.provider)
        if changed:
            audit.record("email_server_changed", ", ".join(changed))
        if forgotten_secrets(values, changed, SECRETS):
            flash(_("The stored SMTP password was forgotten because the SMTP host or port changed: it is sent only "
                    "to the server it was entered for. Type the password again."), "warning")
        if not form.send_test.data:
            flash(_("Email server saved."), "success")
            return redirect(url_for(".settings"))
        trace = Trace()
        try:
            message_id = send_test_email(form.test_recipient.data, trace, current_user.username)
        except ConsoleError as error:
            audit.record("test_email_failed", f"to {form.test_recipient.data}: {error.message}")
            flash(_("The test email was not sent.") + " " + error.message, "error")
        else:
            audit.record("test_email_sent", f"to {form.test_recipient.data}")
            flash(_("Test email accepted by the server for %(recipient)s (%(message_id)s).",
                    recipient=form.test_recipient.data, message_id=message_id), "success")
    return render_page(form, stored, trace)


def render_page(form, stored, trace):
    """The page, with the OAuth state the chosen authentication depends on."""
    connection = get_connection()
    settings = get_settings()
    return render_template(
        "mail/settings.html",
        form=form,
        stored=stored,
        trace=trace,
        connection=connection,
        provider=providers()[settings.provider],
        presets=smtp_for_script(providers()),
        status=get_delivery_status(),
        oauth_ready=bool(settings.client_id and settings.client_secret),
    )
