"""The email server page and the test email."""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import audit
from ..auth.guard import requester
from ..console_error import ConsoleError
from ..extensions import current_runtime
from ..oauth.app_state import app_only_state
from ..oauth.settings import get_settings, provider_of
from ..oauth.tokens import get_connection
from ..providers import smtp_for_script
from ..saving import record_changes
from . import bp
from .forms import SECURITY_LABELS, MailServerForm
from .sending import send_test_email
from .server import PROVIDER_SERVER, SECRETS, get_mail_server, own_host_problem, save_mail_server, where_mail_goes
from .smtp import Trace
from .status import get_delivery_status


@bp.route("/configuration/email-server", methods=["GET", "POST"])
def settings():
    stored, oauth, runtime = get_mail_server(), get_settings(), current_runtime()
    form = MailServerForm(obj=stored, provider=provider_of(oauth, runtime.providers), custom_hosts=oauth.smtp_hosts,
                          block_private_networks=runtime.block_private_networks)
    trace = None
    if form.validate_on_submit():
        stored = save(form.values())
        if not form.send_test.data:
            flash(_("Email server saved."), "success")
            return redirect(url_for(".settings"))
        trace = Trace()
        try:
            message_id = send_test_email(runtime, form.test_recipient.data, trace, current_user.username)
        except ConsoleError as error:
            audit.record("test_email_failed", requester(), wording="failed_to", recipient=form.test_recipient.data,
                         reason=error.said)
            flash(_("The test email was not sent.") + " " + error.message, "error")
        else:
            audit.record("test_email_sent", requester(), wording="sent_to", recipient=form.test_recipient.data)
            flash(_("Test email accepted by the server for %(recipient)s (%(message_id)s).",
                    recipient=form.test_recipient.data, message_id=message_id), "success")
    return render_page(form, stored, trace)


@bp.route("/configuration/email-server/provider-server", methods=["POST"])
def use_provider_server():
    """Blank host, port and security: mail goes to the provider's server, and follows it from now on."""
    save(dict(PROVIDER_SERVER))
    flash(_("The email server now follows the provider on the OAuth page."), "success")
    return redirect(url_for(".settings"))


def save(values: dict):
    """Store the email server, with the audit event and the warning when the password was forgotten."""
    stored, changed = save_mail_server(values)
    record_changes("email_server_changed", values, changed, SECRETS, _(
        "The stored SMTP password was forgotten because the SMTP host or port changed: it is sent only to the "
        "server it was entered for. Type the password again."))
    return stored


def render_page(form, stored, trace):
    """The page, with the OAuth state the chosen authentication depends on and where mail actually goes."""
    connection, settings, runtime = get_connection(), get_settings(), current_runtime()
    provider = provider_of(settings, runtime.providers)
    return render_template(
        "mail/settings.html",
        form=form,
        stored=stored,
        trace=trace,
        connection=connection,
        app_state=app_only_state(settings),
        provider=provider,
        presets=smtp_for_script(runtime.providers, provider),
        status=get_delivery_status(),
        oauth_ready=bool(settings.client_id and settings.client_secret),
        destination=where_mail_goes(stored, provider),
        own_host_problem=own_host_problem(stored, provider),
        security_labels=SECURITY_LABELS,
        timeout=runtime.smtp_timeout,
    )
