"""OAuth parameters page, Authorize, Remove authorization, and the provider's redirect back to the console."""

import secrets
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import audit
from ..auth.guard import login_exempt, requester
from ..database import forgotten_secrets
from ..extensions import current_runtime, limiter
from ..mail.app_check import CheckImpossible, MailboxCheck, check_app_only, summary
from ..mail.server import get_mail_server
from ..models import OAuthSettings
from ..providers import APPLICATION, GRAPH
from . import bp
from .admin_setup import OBJECT_ID_PLACEHOLDER
from .app_state import app_only_state
from .app_tokens import forget_app_tokens
from .authorization import complete_authorization, find_pending, start_authorization
from .errors import OAuthError, UnmatchedAnswer, first_line
from .flow import ClientParameters
from .forms import PASTE_WHOLE_ADDRESS, AuthorizeForm, CheckForm, DisconnectForm, OAuthSettingsForm, PastedAnswerForm
from .settings import (
    SECRETS,
    admin_consent_link,
    client_parameters,
    consent_scopes,
    default_redirect_uri,
    endpoints,
    exchange_setup_of,
    get_settings,
    is_app_only,
    mailbox_list,
    moved_host,
    off_callback_path,
    page_presets,
    previous_provider,
    provider_of,
    redirect_uri,
    redirect_uri_to_store,
    save_settings,
    stored_certificate,
    stored_key,
    workspace_delegation_of,
)
from .tokens import disconnect, get_connection, masked, require_reauthorization_after

BINDING_KEY = "oauth_binding"
CALLBACK_RATE_LIMIT = "30 per minute"  # per address: an administrator comes back a few times, a flood does not


def seen_from() -> str:
    """The callback address as this request (through trusted proxies) sees the console."""
    return url_for("oauth.callback", _external=True)


def console_redirect_uri() -> str:
    """The redirect URI the console defaults to when none is saved, for this request."""
    return default_redirect_uri(current_runtime().public_url, seen_from())


@bp.route("/configuration/oauth", methods=["GET", "POST"])
def settings():
    stored = get_settings()
    runtime = current_runtime()
    form = settings_form(stored)
    if form.validate_on_submit():
        values = form.values()
        values["redirect_uri"] = redirect_uri_to_store(values["redirect_uri"], runtime.public_url, seen_from())
        stored, changed = save_settings(values)
        if changed:
            audit.record("oauth_settings_changed", requester(), ", ".join(changed))
            require_reauthorization_after(changed)
            forget_app_tokens(changed)
        warn_about(values, changed)
        if form.authorize.data:
            return authorize_with(stored)
        flash(_("OAuth parameters saved."), "success")
        return redirect(url_for(".settings"))
    return render_settings(form, stored)


def settings_form(stored, **formdata) -> OAuthSettingsForm:
    """The OAuth parameters form, filled from the request, or from the stored row alone with formdata=None."""
    runtime = current_runtime()
    return OAuthSettingsForm(**formdata, obj=stored, registry=runtime.providers,
                             stored_token_url=stored.token_url, block_private_networks=runtime.block_private_networks)


@bp.route("/configuration/oauth/check", methods=["POST"])
def check():
    """Check app-only sign-in: a token and SMTP AUTH as each listed mailbox; the page with the results."""
    if not CheckForm().validate_on_submit():
        return redirect(url_for(".settings"))
    stored = get_settings()
    try:
        results = check_app_only(stored, get_mail_server(), current_runtime())
    except CheckImpossible as error:
        flash(error.message, "error")
        return redirect(url_for(".settings"))
    audit.record("app_only_checked", requester(), wording="mailboxes_checked", **summary(results))
    return render_settings(settings_form(stored, formdata=None), stored, results)


def forgotten_warning(secret: str) -> str:
    """Why a stored secret was forgotten, and what to do."""
    return {
        "client_secret": _("The stored client secret was forgotten: it belongs to the provider, tenant, token URL "
                           "and client ID it was entered for, and one of them changed. Type the client secret "
                           "again."),
        "client_certificate": _("The stored certificate was forgotten: it belongs to the provider, cloud, tenant and "
                                "client ID it was given for, and one of them changed. Give the certificate again."),
        "service_account_key": _("The stored service account key was forgotten: it belongs to Google, and the "
                                 "provider changed. Choose the key file again."),
    }[secret]


def warn_about(values: dict, changed: list[str]) -> None:
    """What was just saved that will not work as the administrator may expect."""
    for secret in forgotten_secrets(values, changed, SECRETS):
        flash(forgotten_warning(secret), "warning")
    saved = get_settings()
    if values["sign_in"] == APPLICATION and not (saved.client_secret or saved.client_certificate):
        flash(_("Application sign-in needs a client secret or a certificate: enter one of them."), "warning")
    expected = off_callback_path(values["redirect_uri"], current_runtime().public_url, seen_from())
    if expected:
        flash(_("The redirect URI is not on this console's callback path, %(path)s: the provider would send the "
                "browser to a page that does not exist. Use that path (and register the URI with the provider), "
                "unless a proxy in front of the console maps one to the other.", path=expected), "warning")


def render_settings(form: OAuthSettingsForm, stored, check_results: list[MailboxCheck] | None = None):
    """The page, with the chosen preset's endpoints in the greyed fields (the server's fill when JS is off), and the
    results of a check of app-only sign-in just run."""
    runtime = current_runtime()
    submitted = form.is_submitted() and check_results is None
    if not submitted:
        form.redirect_uri.data = redirect_uri(stored, runtime, seen_from())
    if form.chosen is None:  # a provider the select never offered: show the default one's fields
        form.provider.data = stored.provider
    shown = OAuthSettings(provider=form.provider.data, tenant=form.tenant.data, scopes=form.scopes.data,
                          authorization_url=form.authorization_url.data, token_url=form.token_url.data,
                          cloud=form.cloud_chosen, sign_in=form.sign_in_chosen)
    for name, value in endpoints(shown, runtime.providers).items():
        getattr(form, name).data = value
    form.sign_in.data, form.cloud.data = shown.sign_in, shown.cloud
    connection, transport = get_connection(), get_mail_server().transport
    return render_template(
        "oauth/settings.html",
        form=form,
        stored=stored,
        now=datetime.now(UTC),
        sign_in=shown.sign_in,
        offered_sign_ins=form.chosen.sign_ins,
        app_only=is_app_only(stored),
        mailboxes=mailbox_list(stored),
        certificate=stored_certificate(stored),
        service_account=stored_key(stored),
        material_to_give_again=submitted and form.material_given,
        exchange_setup=exchange_setup_of(stored, runtime.providers, transport),
        graph_transport=transport == GRAPH,
        object_id_placeholder=OBJECT_ID_PLACEHOLDER,
        workspace_delegation=workspace_delegation_of(stored, runtime.providers),
        presets=page_presets(runtime.providers),
        guides=[(key, provider.guide) for key, provider in runtime.providers.items() if provider.guide],
        connection=connection,
        refresh_token_mask=masked(connection.refresh_token) if connection else "",
        previous_provider=previous_provider(connection, stored, runtime.providers),
        secret_to_retype=submitted and bool(form.client_secret.data),
        moved_host=moved_host(stored.redirect_uri, seen_from()),
        opened_at=urlsplit(seen_from()).netloc,
        default_redirect_uri=console_redirect_uri(),
        admin_consent_link=admin_consent_link(stored, runtime, seen_from(), transport),
        disconnect_form=DisconnectForm(),
        paste_form=PastedAnswerForm(formdata=None),
        check_form=CheckForm(formdata=None),
        check_results=check_results,
        app_state=app_only_state(stored),
    )


def authorize_with(stored):
    """Send the browser to the provider, bound to this session."""
    runtime = current_runtime()
    if is_app_only(stored):
        flash(_("App-only sign-in needs no authorization: the console asks for its tokens itself."), "error")
        return redirect(url_for(".settings"))
    try:
        params = client_parameters(stored, runtime, seen_from())
    except OAuthError as error:
        flash(error.message, "error")
        return redirect(url_for(".settings"))
    params = replace(params, scopes=consent_scopes(params.scopes, provider_of(stored, runtime.providers),
                                                   get_mail_server().transport))
    if redirect_uri_to_store(stored.redirect_uri, runtime.public_url, params.redirect_uri) != stored.redirect_uri:
        save_settings({"redirect_uri": params.redirect_uri})  # the one registered: it must not move from now on
    session.setdefault(BINDING_KEY, secrets.token_urlsafe(32))
    url = start_authorization(params, runtime.providers[stored.provider], session[BINDING_KEY],
                              current_app.config["OAUTH_STATE_LIFETIME"])
    return redirect(url)


@bp.route("/configuration/oauth/authorize", methods=["POST"])
def authorize():
    """Authorize with the saved parameters (the button on the email server page and the dashboard)."""
    if AuthorizeForm().validate_on_submit():
        return authorize_with(get_settings())
    return redirect(url_for(".settings"))


@bp.route("/v2/oauth/redirect")
@login_exempt
@limiter.limit(CALLBACK_RATE_LIMIT)
def callback():
    if request.args.get("admin_consent", "").lower() == "true":  # the admin consent link's: no code to exchange
        flash(_("Admin consent granted for the tenant %(tenant)s.",
                tenant=first_line(request.args.get("tenant", ""), 100)), "success")
    else:
        finish(request.args)
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=url_for(".settings")))
    return redirect(url_for(".settings"))


@bp.route("/configuration/oauth/complete", methods=["POST"])
def complete():
    form = PastedAnswerForm()
    if not form.validate_on_submit():
        flash(str(PASTE_WHOLE_ADDRESS), "error")
        return redirect(url_for(".settings", paste=1, _anchor="paste-answer"))  # the box stays open to paste again
    finish(form.answer())
    return redirect(url_for(".settings"))


def finish(answer) -> None:
    """Complete an authorization from the provider's answer and say how it went."""
    binding = session.get(BINDING_KEY)
    try:
        find_pending(answer.get("state"), binding)  # before anything else: an answer nobody expects costs nothing
        runtime = current_runtime()
        params = client_parameters(get_settings(), runtime, seen_from())
        connection = complete_authorization(answer, binding, params, runtime.providers,
                                            current_app.config["OAUTH_STATE_LIFETIME"])
    except UnmatchedAnswer as error:
        current_app.logger.warning("OAuth redirect matching no authorization of its session, from %s: %s",
                                   request.remote_addr, error.message)
        flash(_("Authorization failed.") + " " + error.message, "error")
        return
    except OAuthError as error:
        audit.record("authorization_failed", requester(), wording=error.said)
        flash(_("Authorization failed.") + " " + error.message, "error")
        return
    account = connection.account_email
    audit.record("authorized", requester(), wording="authorized_as" if account else None, account=account)
    flash(_("Authorized as %(account)s. The refresh token is stored.",
            account=connection.account_email or _("an unnamed account")), "success")


@bp.route("/configuration/oauth/disconnect", methods=["POST"])
def disconnect_account():
    form = DisconnectForm()
    if not form.validate_on_submit():
        flash(" ".join(map(str, form.confirm.errors)), "error")  # the browser asks first: this is for one that did not
    elif get_connection() is not None:  # a second click finds nothing left to disconnect
        try:
            params = client_parameters(get_settings(), current_runtime(), seen_from())
        except OAuthError:
            params = None
        warning = disconnect(params)
        audit.record("disconnected", requester(), wording=warning)
        flash(*disconnected(params, warning))
    return redirect(url_for(".settings"))


def disconnected(params: ClientParameters | None, warning: str | None) -> tuple[str, str]:
    """What the administrator is told once the tokens are forgotten: whether the provider revoked them too."""
    if warning:
        return _("Authorization removed: the tokens are forgotten here and sending with OAuth is stopped, but the "
                 "provider did not revoke the refresh token: %(why)s", why=warning), "warning"
    if params is None or not params.revocation_url:
        return _("Authorization removed: the tokens are forgotten here and sending with OAuth is stopped. The "
                 "provider was not asked to revoke the refresh token (it offers no revocation, or the OAuth "
                 "parameters are incomplete): to cut it off there too, remove this application's access in the "
                 "account's security settings."), "warning"
    return _("Authorization removed: the tokens are forgotten here and sending with OAuth is stopped. The "
             "provider revoked the refresh token."), "success"
