"""The email server form."""

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, IntegerField, PasswordField, SelectChoice, SelectField, StringField, SubmitField
from wtforms.validators import Length, NumberRange, Optional, StopValidation, ValidationError

from ..providers import PRESETS, SMTP, TRANSPORT_LABELS, Provider
from ..validation import private_address_problem
from .message import has_line_break
from .policy import plaintext_auth_problem, token_host_problem
from .server import follows_provider


def single_line(form, field):
    """Header values never carry line breaks."""
    if field.data and has_line_break(field.data):
        raise ValidationError(_("Use a single line."))


class EmailAddress:
    """An address mail can be sent to, with email-validator's reason when it is not (e.g. a reserved domain)."""

    def __init__(self, message):
        self.message = message

    def __call__(self, form, field):
        try:
            validate_email(field.data, check_deliverability=False)
        except EmailNotValidError as error:
            raise ValidationError(f"{self.message} {error}") from None


class ProviderDefault:
    """A blank value is the provider's where the form follows it; anywhere else, and for what is not a value (a port
    that is not a number), the message."""

    def __init__(self, message):
        self.message = message

    def __call__(self, form, field):
        if field.data is not None:
            return
        field.errors[:] = []
        typed = bool(field.raw_data and field.raw_data[0].strip())
        raise StopValidation(None if form.follows_provider and not typed else self.message)


def smtp_only(form, field):
    """With an HTTPS transport the SMTP server is not used: what it holds stays as saved, whatever is typed."""
    if form.uses_api:
        field.errors[:] = []
        raise StopValidation()


SECURITY_LABELS = {"none": _l("None"), "starttls": "STARTTLS", "ssl": "SSL/TLS"}


class MailServerForm(FlaskForm):
    transport = SelectField(_l("Transport"), validate_choice=False)
    host = StringField(_l("SMTP host"), validators=[smtp_only, Length(max=255)],
                       description=_l("With OAuth, a blank host, port or security is the provider's, and follows it "
                                      "when the provider changes."))
    port = IntegerField(_l("Port"), validators=[smtp_only, ProviderDefault(_l("Enter a port, such as 587.")),
                                                NumberRange(1, 65535, _l("A port is a number from 1 to 65535."))])
    security = SelectField(_l("Security"), validators=[smtp_only], choices=[SelectChoice(key, label) for key, label in
                                                    [("", ""), *SECURITY_LABELS.items()]])
    sender_address = EmailField(_l("Sender address"), validators=[
        Optional(), Length(max=320), EmailAddress(_l("Enter an email address, such as reports@example.com."))],
        description=_l("Leave blank to send as the mailbox that authenticates."))
    sender_name = StringField(_l("Sender name"), validators=[Optional(), Length(max=255), single_line])
    authentication = SelectField(_l("Authentication"), choices=[
        SelectChoice("none", _l("None")), SelectChoice("password", _l("Password")), SelectChoice("oauth", "OAuth")])
    username = StringField(_l("Username"), validators=[Optional(), Length(max=320), single_line],
                           description=_l("The mailbox that authenticates. With OAuth, blank means the authorized "
                                          "account."))
    password = PasswordField(_l("Password"), validators=[Optional(), Length(max=1024)])
    relay_sender = SelectField(_l("Sender of relayed messages"), choices=[
        SelectChoice("keep", _l("Keep the sender the program wrote")),
        SelectChoice("mailbox", _l("Send as the sender above, the program's address in Reply-To"))],
        description=_l("For mail handed in through the SMTP relay. Microsoft refuses a From the mailbox may not send "
                       "as (SendAsDenied) and Google rewrites it: grant the mailbox Send As on those addresses, or "
                       "send as the mailbox."))
    test_recipient = EmailField(_l("Test recipient"), validators=[
        Optional(), Length(max=320), EmailAddress(_l("Enter an email address to send the test to."))])
    save = SubmitField(_l("Save"))
    send_test = SubmitField(_l("Send test email"))

    def __init__(self, *args, provider: Provider, custom_hosts: str | None = None,
                 block_private_networks: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.provider, self.custom_hosts = provider, custom_hosts
        self.block_private_networks = block_private_networks
        self.offer_provider_values()
        self.offer_transports()

    def offer_provider_values(self) -> None:
        """Show the provider's host and port in the blank fields, and its security as the blank choice."""
        self.host.render_kw = {"placeholder": self.provider.smtp_host} if self.provider.smtp_host else None
        self.port.render_kw = {"placeholder": self.provider.smtp_port} if self.provider.smtp_host else None
        blank = (_("As %(provider)s says (%(security)s)", provider=self.provider.label,
                   security=SECURITY_LABELS[self.provider.smtp_security]) if self.provider.smtp_host
                 else _("Choose..."))
        self.security.choices = [SelectChoice("", blank), *self.security.choices[1:]]
        self.security.data = self.security.data or ""

    def offer_transports(self) -> None:
        """SMTP and the provider's HTTPS API (and a saved one the provider no longer offers, to be told so)."""
        self.transport.data = self.transport.data or SMTP
        shown = dict.fromkeys((*self.provider.transports, self.transport.data))
        self.transport.choices = [SelectChoice(key, TRANSPORT_LABELS[key]) for key in shown if key in TRANSPORT_LABELS]
        api = self.provider.mail_api
        self.transport.description = _("SMTP: port 587 or 465.") + (" " + _(
            "%(api)s: over HTTPS (port 443), for when SMTP AUTH is disabled or ports 587 and 465 are blocked.",
            api=TRANSPORT_LABELS[api]) if api else "")

    @property
    def uses_api(self) -> bool:
        """Whether an HTTPS API is chosen to carry the mail instead of the SMTP server."""
        return self.transport.data != SMTP

    @property
    def follows_provider(self) -> bool:
        return follows_provider(self.authentication.data, self.provider)

    def validate_transport(self, field):
        if field.data not in TRANSPORT_LABELS:
            raise ValidationError(_("Choose a transport."))
        label = TRANSPORT_LABELS[field.data]
        if field.data not in self.provider.transports:
            owner = next(str(p.label) for p in PRESETS.values() if p.mail_api == field.data)
            raise ValidationError(_("%(transport)s is offered for %(owner)s only: choose SMTP, or choose %(owner)s on "
                                    "the OAuth page.", transport=label, owner=owner))
        if self.uses_api and self.authentication.data != "oauth":
            raise ValidationError(_("%(transport)s sends with OAuth only: set Authentication to OAuth, or choose "
                                    "SMTP.", transport=label))

    def validate_host(self, field):
        field.data = (field.data or "").strip()
        if not field.data and not self.follows_provider:
            raise ValidationError(_("Enter the SMTP host, such as smtp.gmail.com."))
        if any(char.isspace() or char in "/@" for char in field.data):
            raise ValidationError(_("Enter a host name or IP address only, such as smtp.office365.com."))
        problem = field.data and self.destination_problem(field.data)
        if problem:
            raise ValidationError(problem)

    def destination_problem(self, host: str) -> str | None:
        """Why this host may not receive what the chosen authentication sends, or None."""
        if self.block_private_networks and (problem := private_address_problem(host)):
            return problem
        if self.authentication.data == "oauth":
            return token_host_problem(host, self.provider, self.custom_hosts)
        return None

    def validate_security(self, field):
        if not field.data and not self.follows_provider:
            raise ValidationError(_("Choose the security: STARTTLS for port 587, SSL/TLS for port 465."))
        provider = self.provider if self.follows_provider else None
        host = self.host.data or (provider and provider.smtp_host)
        security = field.data or (provider and provider.smtp_security)
        problem = host and plaintext_auth_problem(host, security, self.authentication.data)
        if problem:
            raise ValidationError(problem)

    def validate_username(self, field):
        if self.authentication.data == "password" and not field.data:
            raise ValidationError(_("Enter the username that logs in to the SMTP server."))

    def validate_test_recipient(self, field):
        if self.send_test.data and not field.data:
            raise ValidationError(_("Enter the address the test email goes to."))

    def values(self) -> dict:
        """What to store; a blank password keeps the stored one, and with an HTTPS transport the SMTP server stays as
        saved."""
        names = ("sender_address", "sender_name", "authentication", "username", "password", "relay_sender",
                 *(() if self.uses_api else ("host", "port", "security")))
        return {"transport": self.transport.data, **{name: getattr(self, name).data or None for name in names}}
