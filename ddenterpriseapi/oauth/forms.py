"""The OAuth parameters form, and the form that completes an authorization from a pasted address."""

import re
from urllib.parse import parse_qsl, urlsplit

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, PasswordField, SelectChoice, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from ..auth.forms import IsCurrentPassword
from ..providers import Provider
from ..validation import TENANT_HELP, is_valid_tenant, private_address_problem, url_problem

URL_MAX = 2048
HOST_NAME = re.compile(r"^[A-Za-z0-9.-]{1,253}$")
PASTE_WHOLE_ADDRESS = _l("Paste the whole address from the browser's address bar (it holds code= and state=), not "
                         "only the code.")


def secure_url(form, field):
    """An https URL, or http on a loopback host."""
    if field.data:
        problem = url_problem(field.data)
        if problem:
            raise ValidationError(problem)


class OAuthSettingsForm(FlaskForm):
    provider = SelectField(_l("OAuth Provider"))
    tenant = StringField(_l("Tenant"), validators=[Length(max=255)], description=TENANT_HELP)
    authorization_url = StringField(_l("Authorization URL"), validators=[Length(max=URL_MAX), secure_url])
    token_url = StringField(_l("Token URL"), validators=[Length(max=URL_MAX), secure_url])
    scopes = StringField(
        _l("Scopes"), validators=[Length(max=1024)],
        description=_l("Separated by spaces. For a custom provider, add offline_access (or what your provider calls "
                       "it) so that it issues a refresh token, and openid email so that the console learns which "
                       "account was authorized."))
    client_id = StringField(_l("Client ID"), validators=[Optional(), Length(max=512)])
    client_secret = PasswordField(_l("Client Secret"), validators=[Optional(), Length(max=1024)])
    client_secret_expires_on = DateField(
        _l("Secret expires on"), validators=[Optional()],
        description=_l("Optional: the date the provider showed when the secret was created (Azure shows it under "
                       "Certificates & secrets). Notifications warn 30 and 7 days before; update it with a new "
                       "secret."))
    app_in_testing = BooleanField(
        _l("The app is in the Testing publishing status"),
        description=_l("Google lets refresh tokens of an app in Testing live 7 days: notifications warn on the sixth "
                       "day, so you can authorize again in time. Better: publish the app, or make it Internal."))
    smtp_hosts = StringField(_l("SMTP hosts"), validators=[Length(max=1024)],
                             description=_l("The SMTP servers this provider's access tokens may be sent to, "
                                            "separated by spaces, such as smtp.example.com."))
    redirect_uri = StringField(_l("Authorized redirect URI"),
                               validators=[Optional(), Length(max=URL_MAX), secure_url])
    current_password = PasswordField(_l("Your password"), validators=[Length(max=1024)],
                                     description=_l("Asked again to change the client secret or the token URL."))
    save = SubmitField(_l("Save"))
    authorize = SubmitField(_l("Authorize"))

    def __init__(self, *args, registry: dict[str, Provider], stored_token_url: str | None = None,
                 block_private_networks: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.registry = registry
        self.provider.choices = [SelectChoice(key, preset.label) for key, preset in self.registry.items()]
        self.stored_token_url = stored_token_url
        self.block_private_networks = block_private_networks

    @property
    def chosen(self) -> Provider | None:
        """The preset of the provider picked on the form; None for a value the select never offered."""
        return self.registry.get(self.provider.data)

    @property
    def editable_endpoints(self) -> bool:
        """The endpoints are the administrator's to type in (Custom), not a preset's."""
        return bool(self.chosen and self.chosen.editable_endpoints)

    @property
    def uses_tenant(self) -> bool:
        """The provider's endpoints name a tenant (Microsoft), which is then required."""
        return bool(self.chosen and self.chosen.uses_tenant)

    def validate_tenant(self, field):
        if not self.uses_tenant:
            return
        field.data = (field.data or "").strip()
        if not field.data:
            raise ValidationError(_("Enter the tenant."))  # the field's help, beside it, says what to enter
        if not is_valid_tenant(field.data):
            raise ValidationError(_("%(tenant)s is not a tenant Microsoft accepts.", tenant=repr(field.data)))

    def validate_authorization_url(self, field):
        self._required_if_editable(field)
        self._outside_private_networks(field)

    def validate_token_url(self, field):
        self._required_if_editable(field)
        self._outside_private_networks(field)

    def validate_scopes(self, field):
        self._required_if_editable(field)

    def validate_current_password(self, field):
        """A new client secret, or a token URL the stored one would be sent to, is for the administrator only."""
        new_token_url = self.editable_endpoints and (self.token_url.data or "").strip() != (
            self.stored_token_url or "")
        if not (self.client_secret.data or new_token_url):
            return
        if not field.data:
            raise ValidationError(_("Enter your password to change the client secret or the token URL."))
        IsCurrentPassword()(self, field)

    def validate_smtp_hosts(self, field):
        if any(not HOST_NAME.match(host) for host in (field.data or "").replace(",", " ").split()):
            raise ValidationError(_("Enter host names only, separated by spaces, such as smtp.example.com."))

    def _required_if_editable(self, field):
        if self.editable_endpoints and not (field.data or "").strip():
            raise ValidationError(_("Enter the %(field)s of your provider.", field=field.label.text))

    def _outside_private_networks(self, field):
        """A custom provider's endpoint, when private networks are blocked (a preset's is never taken from the form)."""
        if not (self.block_private_networks and self.editable_endpoints) or field.errors:
            return
        if problem := private_address_problem(urlsplit(field.data.strip()).hostname):
            raise ValidationError(problem)

    def values(self) -> dict:
        """What to store: the endpoints only for a custom provider, whose endpoints are the admin's to set."""
        values = {name: (getattr(self, name).data or "").strip() or None
                  for name in ("provider", "tenant", "client_id", "client_secret", "redirect_uri")}
        if not self.uses_tenant:
            values["tenant"] = None
        values.update(self.custom_endpoints())
        values["client_secret_expires_on"] = self.client_secret_expires_on.data
        values["app_in_testing"] = bool(self.app_in_testing.data and self.chosen and self.chosen.testing_token_days)
        return values

    def custom_endpoints(self) -> dict:
        """A custom provider's endpoints and SMTP hosts as typed; a preset's come from the preset (none stored)."""
        if not self.editable_endpoints:
            return {"smtp_hosts": None}
        endpoints = {name: (getattr(self, name).data or "").strip() for name in ("authorization_url", "token_url",
                                                                                  "scopes")}
        return {**endpoints, "smtp_hosts": " ".join((self.smtp_hosts.data or "").replace(",", " ").split()).lower()}


class AuthorizeForm(FlaskForm):
    submit = SubmitField(_l("Authorize"))


class DisconnectForm(FlaskForm):
    confirm = BooleanField(
        _l("Yes, stop sending with OAuth until someone authorizes again"),
        validators=[DataRequired(_l("Tick the box to confirm: removing the authorization stops all sending with "
                                    "OAuth."))],
    )
    submit = SubmitField(_l("Remove authorization"))


class PastedAnswerForm(FlaskForm):
    address = StringField(
        _l("Address the browser ended on"),
        validators=[DataRequired(), Length(max=8192)],
        description=_l("When the browser could not open the redirect URI (it points at another machine), copy the "
                       "whole address from its address bar and paste it here."),
    )
    submit = SubmitField(_l("Complete authorization"))

    def validate_address(self, field):
        if not self.answer().keys() & {"code", "error"}:
            raise ValidationError(PASTE_WHOLE_ADDRESS)

    def answer(self) -> dict:
        """The provider's answer: the query of the pasted address."""
        return dict(parse_qsl(urlsplit((self.address.data or "").strip()).query))
