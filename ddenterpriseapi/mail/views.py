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
from ..providers import TRANSPORT_LABELS, smtp_for_script
from ..saving import record_changes
from . import bp
from .api_route import api_route, missing_consent
from .forms import SECURITY_LABELS, MailServerForm
from .sending import send_test_email
from .server import PROVIDER_SERVER, SECRETS, get_mail_server, own_host_problem, save_mail_server, where_mail_goes
from .smtp import Trace
from .status import get_delivery_status
from .suggestion import Suggestion, after_delivery_failure, after_test_failure, can_use_api


@bp.route("/configuration/email-server", methods=["GET", "POST"])
def settings():
    stored, oauth, runtime = get_mail_server(), get_settings(), current_runtime()
    provider = provider_of(oauth, runtime.providers)
    form = MailServerForm(obj=stored, provider=provider, custom_hosts=oauth.smtp_hosts,
                          block_private_networks=runtime.block_private_networks)
    if not form.validate_on_submit():
        return render_page(form, stored, None)
    stored = save(form.values())
    if not form.send_test.data:
        flash(_("Email server saved."), "success")
        return redirect(url_for(".settings"))
    return render_page(form, stored, *send_test(form.test_recipient.data, stored, provider, runtime))


def send_test(recipient: str, stored, provider, runtime) -> tuple[Trace, Suggestion | None]:
    """Send the test email, saying how it went; what happened, and the HTTPS API to use when SMTP is closed."""
    trace = Trace()
    try:
        message_id = send_test_email(runtime, recipient, trace, current_user.username)
    except ConsoleError as error:
        audit.record("test_email_failed", requester(), wording="failed_to", recipient=recipient, reason=error.said)
        flash(_("The test email was not sent.") + " " + error.message, "error")
        return trace, after_test_failure(error, stored, provider, runtime)
    audit.record("test_email_sent", requester(), wording="sent_to", recipient=recipient)
    flash(_("Test email accepted by the server for %(recipient)s (%(message_id)s).",
            recipient=recipient, message_id=message_id), "success")
    return trace, None


@bp.route("/configuration/email-server/provider-server", methods=["POST"])
def use_provider_server():
    """Blank host, port and security: mail goes to the provider's server, and follows it from now on."""
    save(dict(PROVIDER_SERVER))
    flash(_("The email server now follows the provider on the OAuth page."), "success")
    return redirect(url_for(".settings"))


@bp.route("/configuration/email-server/use-api", methods=["POST"])
def use_api():
    """The suggestion's one click: the provider's HTTPS API carries the mail, and the consent it lacks is asked for
    at once."""
    oauth, runtime = get_settings(), current_runtime()
    provider = provider_of(oauth, runtime.providers)
    if not can_use_api(get_mail_server(), provider):
        flash(_("%(provider)s offers no HTTPS API with this authentication: choose OAuth.", provider=provider.label),
              "error")
        return redirect(url_for(".settings"))
    save({"transport": provider.mail_api})
    label = TRANSPORT_LABELS[provider.mail_api]
    if missing_consent(oauth, runtime, provider.mail_api):
        flash(_("Mail now goes through %(api)s. Sign in and accept its permission to send.", api=label), "success")
        return redirect(url_for("oauth.authorize"), code=307)  # this POST, its CSRF token with it, goes on to Authorize
    flash(_("Mail now goes through %(api)s. Send a test email to check it.", api=label), "success")
    return redirect(url_for(".settings"))


def save(values: dict):
    """Store the email server, with the audit event and the warning when the password was forgotten."""
    stored, changed = save_mail_server(values)
    record_changes("email_server_changed", values, changed, SECRETS, _(
        "The stored SMTP password was forgotten because the SMTP host or port changed: it is sent only to the "
        "server it was entered for. Type the password again."))
    return stored


def render_page(form, stored, trace, suggestion=None):
    """The page, with the OAuth state the chosen authentication depends on, where mail actually goes, and the HTTPS
    API to use instead when SMTP turned out closed."""
    connection, settings, runtime = get_connection(), get_settings(), current_runtime()
    provider, status = provider_of(settings, runtime.providers), get_delivery_status()
    return render_template(
        "mail/settings.html",
        form=form,
        stored=stored,
        trace=trace,
        connection=connection,
        app_state=app_only_state(settings),
        provider=provider,
        presets=smtp_for_script(runtime.providers, provider),
        status=status,
        oauth_ready=bool(settings.client_id and settings.client_secret),
        destination=where_mail_goes(stored, provider),
        api_route=api_route(stored, provider, settings, connection),
        missing_consent=stored.authentication == "oauth" and missing_consent(settings, runtime, stored.transport),
        suggestion=suggestion or after_delivery_failure(status, stored, provider),
        own_host_problem=own_host_problem(stored, provider),
        security_labels=SECURITY_LABELS,
        timeout=runtime.smtp_timeout,
    )
