"""The email server form."""

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, IntegerField, PasswordField, SelectChoice, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from ..providers import Provider
from ..validation import private_address_problem
from .message import has_line_break
from .policy import plaintext_auth_problem, token_host_problem


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


class MailServerForm(FlaskForm):
    host = StringField(_l("SMTP host"), validators=[Length(max=255)],
                       description=_l("With OAuth, blank means the provider's server (Google: smtp.gmail.com, "
                                      "Microsoft: smtp.office365.com)."))
    port = IntegerField(_l("Port"), validators=[DataRequired(_l("Enter a port, such as 587.")),
                                                NumberRange(1, 65535, _l("A port is a number from 1 to 65535."))])
    security = SelectField(_l("Security"), choices=[SelectChoice("none", _l("None")),
                                                    SelectChoice("starttls", "STARTTLS"),
                                                    SelectChoice("ssl", "SSL/TLS")])
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

    def validate_host(self, field):
        field.data = (field.data or "").strip()
        if not field.data and self.authentication.data != "oauth":
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
        problem = plaintext_auth_problem(self.host.data or "", field.data, self.authentication.data)
        if problem and self.host.data:
            raise ValidationError(problem)

    def validate_username(self, field):
        if self.authentication.data == "password" and not field.data:
            raise ValidationError(_("Enter the username that logs in to the SMTP server."))

    def validate_test_recipient(self, field):
        if self.send_test.data and not field.data:
            raise ValidationError(_("Enter the address the test email goes to."))

    def values(self) -> dict:
        """What to store; a blank password keeps the stored one."""
        return {name: getattr(self, name).data or None for name in (
            "host", "port", "security", "sender_address", "sender_name", "authentication", "username", "password",
            "relay_sender")}
