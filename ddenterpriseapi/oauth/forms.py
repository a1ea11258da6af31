"""The OAuth parameters form, and the form that completes an authorization from a pasted address."""

import re
from urllib.parse import parse_qsl, urlsplit

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from ..auth.forms import IsCurrentPassword
from ..mail.message import address_problem
from ..providers import APPLICATION, DELEGATED, SERVICE_ACCOUNT, SIGN_IN_LABELS, Provider
from ..text import lines
from ..validation import GUID, TENANT_ALIASES, TENANT_HELP, is_valid_tenant, private_address_problem, url_problem
from .credentials import (
    MAX_KEY_FILE_CHARS,
    MAX_PEM_CHARS,
    CredentialProblem,
    read_certificate,
    read_service_account_key,
)
from .fields import WriteOnlyPasswordField, WriteOnlyTextAreaField, unique_addresses, uploaded_text
from .settings import APP_ONLY, GLOBAL_CLOUD

URL_MAX = 2048
HOST_NAME = re.compile(r"^[A-Za-z0-9.-]{1,253}$")
MAX_MAILBOXES = 100
UNLISTED_SENDER_CHOICES = [
    SelectChoice("refuse", _l("Refuse the message")),
    SelectChoice("default_mailbox", _l("Send as the default mailbox, with the original sender in Reply-To")),
]
MATERIAL = {  # sign-in: the field of its key material (pasted; chosen as a file: <name>_file), its reader, its size
    APPLICATION: ("client_certificate", read_certificate, MAX_PEM_CHARS),
    SERVICE_ACCOUNT: ("service_account_key", read_service_account_key, MAX_KEY_FILE_CHARS),
}
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
    sign_in = RadioField(_l("Sign-in"), choices=[SelectChoice(key, label) for key, label in SIGN_IN_LABELS.items()],
                         default=DELEGATED)
    cloud = SelectField(_l("Cloud"), default=GLOBAL_CLOUD, description=_l(
        "Where your Microsoft 365 tenant lives: the sign-in, token and SMTP servers differ in the national clouds."))
    tenant = StringField(_l("Tenant"), validators=[Length(max=255)], description=TENANT_HELP)
    authorization_url = StringField(_l("Authorization URL"), validators=[Length(max=URL_MAX), secure_url])
    token_url = StringField(_l("Token URL"), validators=[Length(max=URL_MAX), secure_url])
    scopes = StringField(
        _l("Scopes"), validators=[Length(max=1024)],
        description=_l("Separated by spaces. For a custom provider, add offline_access (or what your provider calls "
                       "it) so that it issues a refresh token, and openid email so that the console learns which "
                       "account was authorized."))
    client_id = StringField(_l("Client ID"), validators=[Length(max=512)])
    client_secret = WriteOnlyPasswordField(_l("Client Secret"), validators=[Optional(), Length(max=1024)])
    client_secret_expires_on = DateField(
        _l("Secret expires on"), validators=[Optional()],
        description=_l("Optional: the date the provider showed when the secret was created (Azure shows it under "
                       "Certificates & secrets). Notifications warn 30 and 7 days before; update it with a new "
                       "secret."))
    app_in_testing = BooleanField(
        _l("The app is in the Testing publishing status"),
        description=_l("Google lets refresh tokens of an app in Testing live 7 days: notifications warn on the sixth "
                       "day, so you can authorize again in time. Better: publish the app, or make it Internal."))
    client_certificate = WriteOnlyTextAreaField(
        _l("Certificate (PEM)"), validators=[Length(max=MAX_PEM_CHARS)],
        description=_l("Instead of a client secret: the certificate uploaded to the app registration (BEGIN "
                       "CERTIFICATE) and its private key (BEGIN PRIVATE KEY), one after the other. From a .pfx file: "
                       "openssl pkcs12 -in certificate.pfx -nodes -out certificate.pem"))
    client_certificate_file = FileField(_l("Or choose the PEM file"))
    service_account_key_file = FileField(
        _l("Service account key file (JSON)"),
        description=_l("Google Cloud console > IAM & Admin > Service accounts > the account > Keys > Add key > "
                       "Create new key > JSON."))
    service_account_key = WriteOnlyTextAreaField(
        _l("Or paste the key file's content"), validators=[Length(max=MAX_KEY_FILE_CHARS)],
        description=_l("For a browser on another machine than the one holding the file."))
    mailboxes = TextAreaField(
        _l("Mailboxes"), validators=[Length(max=MAX_MAILBOXES * 330)],
        description=_l("One address per line: the mailboxes the console sends as. The first is the default "
                       "mailbox."))
    unlisted_sender = RadioField(_l("When the From address is not listed"), choices=UNLISTED_SENDER_CHOICES,
                                 default="refuse")
    enterprise_object_id = StringField(
        _l("Enterprise application object ID"), validators=[Length(max=64)],
        description=_l("Optional, for the PowerShell below: Microsoft Entra admin center > Enterprise applications > "
                       "your application > Object ID. Not the Object ID of the app registration, which differs."))
    smtp_hosts = StringField(_l("SMTP hosts"), validators=[Length(max=1024)],
                             description=_l("The SMTP servers this provider's access tokens may be sent to, "
                                            "separated by spaces, such as smtp.example.com."))
    redirect_uri = StringField(_l("Authorized redirect URI"),
                               validators=[Optional(), Length(max=URL_MAX), secure_url])
    current_password = PasswordField(_l("Your password"), validators=[Length(max=1024)],
                                     description=_l("Asked again to change the client secret, the certificate, the "
                                                    "service account key or the token URL."))
    save = SubmitField(_l("Save"))
    authorize = SubmitField(_l("Authorize"))

    def __init__(self, *args, registry: dict[str, Provider], stored_token_url: str | None = None,
                 block_private_networks: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.registry = registry
        self.provider.choices = [SelectChoice(key, preset.label) for key, preset in self.registry.items()]
        clouds = {key: cloud.label for preset in self.registry.values() for key, cloud in preset.clouds.items()}
        self.cloud.choices = [SelectChoice(key, label) for key, label in clouds.items()] or [GLOBAL_CLOUD]
        self.stored_token_url = stored_token_url
        self.block_private_networks = block_private_networks
        self.material: dict[str, str] = {}  # a new certificate or key file, once read

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

    @property
    def sign_in_chosen(self) -> str:
        """The sign-in picked, when the provider offers it; else delegated (the provider changed without the page's
        script, which offers each provider's own)."""
        offered = self.chosen.sign_ins if self.chosen else (DELEGATED,)
        return self.sign_in.data if self.sign_in.data in offered else DELEGATED

    @property
    def cloud_chosen(self) -> str:
        """The national cloud picked, for a provider that has several; else the one worldwide service."""
        return self.cloud.data if self.chosen and self.cloud.data in self.chosen.clouds else GLOBAL_CLOUD

    @property
    def shown(self) -> Provider | None:
        """The chosen provider as it is in the chosen cloud."""
        return self.chosen.in_cloud(self.cloud_chosen) if self.chosen else None

    def validate_sign_in(self, field):
        field.data = self.sign_in_chosen

    def validate_tenant(self, field):
        if not self.uses_tenant:
            return
        field.data = (field.data or "").strip()
        if not field.data:
            raise ValidationError(_("Enter the tenant."))  # the field's help, beside it, says what to enter
        if not is_valid_tenant(field.data):
            raise ValidationError(_("%(tenant)s is not a tenant Microsoft accepts.", tenant=repr(field.data)))
        if self.sign_in_chosen == APPLICATION and field.data.lower() in TENANT_ALIASES:
            raise ValidationError(_("Application sign-in gets its tokens from the tenant's own endpoint: enter the "
                                    "Directory (tenant) ID or a verified domain, not %(tenant)s.", tenant=field.data))

    def validate_client_id(self, field):
        field.data = (field.data or "").strip()
        if self.sign_in_chosen == APPLICATION and not field.data:
            raise ValidationError(_("Enter the Application (client) ID of the app registration."))

    def validate_mailboxes(self, field):
        """App-only sign-in sends only as the mailboxes listed, each an address."""
        if self.sign_in_chosen not in APP_ONLY:
            return
        addresses = lines(field.data)
        if not addresses:
            raise ValidationError(_("Enter at least one mailbox: with no one signing in, the console sends only as "
                                    "the mailboxes listed here."))
        if len(addresses) > MAX_MAILBOXES:
            raise ValidationError(_("At most %(count)s mailboxes.", count=MAX_MAILBOXES))
        for address in addresses:
            if problem := address_problem(address):
                raise ValidationError(_("%(address)s is not an email address: %(reason)s", address=address,
                                        reason=problem))

    def validate_enterprise_object_id(self, field):
        field.data = (field.data or "").strip()
        if self.sign_in_chosen == APPLICATION and field.data and not GUID.match(field.data):
            raise ValidationError(_("Enter the Object ID as the Entra admin center shows it, a GUID such as "
                                    "72f988bf-86f1-41af-91ab-2d7cd011db47."))

    def validate_authorization_url(self, field):
        self._required_if_editable(field)
        self._outside_private_networks(field)

    def validate_token_url(self, field):
        self._required_if_editable(field)
        self._outside_private_networks(field)

    def validate_scopes(self, field):
        self._required_if_editable(field)

    def validate_current_password(self, field):
        """A new client secret, certificate or key file, or a token URL the stored secret would be sent to, is for
        the administrator only."""
        new_token_url = self.editable_endpoints and (self.token_url.data or "").strip() != (
            self.stored_token_url or "")
        if not (self.client_secret.data or new_token_url or self.material_given):
            return
        if not field.data:
            raise ValidationError(_("Enter your password to change the client secret, the certificate, the service "
                                    "account key or the token URL."))
        IsCurrentPassword()(self, field)

    def validate_smtp_hosts(self, field):
        if any(not HOST_NAME.match(host) for host in (field.data or "").replace(",", " ").split()):
            raise ValidationError(_("Enter host names only, separated by spaces, such as smtp.example.com."))

    @property
    def material_given(self) -> bool:
        """A new certificate or key file was pasted or chosen for the chosen sign-in."""
        if self.sign_in_chosen not in MATERIAL:
            return False
        name = MATERIAL[self.sign_in_chosen][0]
        return bool((self[name].data or "").strip() or self[name + "_file"].data)

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        return self._read_material() and valid

    def _read_material(self) -> bool:
        """Read a new certificate or key file as the token requests will: a problem goes beside the input it came
        from, and nothing is stored. A PEM may come in two parts, one chosen as a file and one pasted."""
        if not self.material_given:
            return True
        name, reader, limit = MATERIAL[self.sign_in_chosen]
        typed, uploaded = self[name], self[name + "_file"]
        parts = [uploaded_text(uploaded.data, limit), (typed.data or "").strip()]
        text = "\n".join(part for part in parts if part) if reader is read_certificate else parts[0] or parts[1]
        try:
            reader(text)
        except CredentialProblem as problem:
            (uploaded if uploaded.data else typed).errors.append(str(problem))
            return False
        self.material = {name: text}
        return True

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
        values.update(self.app_only_values())
        return values

    def app_only_values(self) -> dict:
        """Who signs in and in which cloud; for app-only sign-in its mailboxes, and the new certificate or key file
        (none given: the stored one stays, as a blank client secret does). What the chosen sign-in does not use
        stays as stored."""
        values = {"sign_in": self.sign_in_chosen, "cloud": self.cloud_chosen, **self.material}
        if self.sign_in_chosen in APP_ONLY:
            values["mailboxes"] = "\n".join(unique_addresses(self.mailboxes.data))
            values["unlisted_sender"] = self.unlisted_sender.data
        if self.sign_in_chosen == APPLICATION:
            values["enterprise_object_id"] = self.enterprise_object_id.data or None
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


class CheckForm(FlaskForm):
    submit = SubmitField(_l("Check"))


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
