"""The Notifications form: webhooks, recipients and the fallback server, each line and field checked."""

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import Length, NumberRange, Optional, StopValidation, ValidationError

from ..mail.forms import EmailAddress, single_line
from ..mail.policy import plaintext_auth_problem
from ..text import lines
from ..validation import private_address_problem
from .webhook import destination_problem

MAX_WEBHOOKS = 10
MAX_RECIPIENTS = 20


class NeededWhen:
    """Optional, unless the rest of the form makes the field needed (the form's method of that name says so): then a
    blank is refused with the message. WTForms' Optional would stop an inline validate_<field> from ever running."""

    field_flags = {"optional": True}

    def __init__(self, needed: str, message):
        self.needed, self.message = needed, message

    def __call__(self, form, field):
        if field.raw_data and str(field.raw_data[0]).strip():
            return
        field.errors[:] = []
        raise StopValidation(self.message if getattr(form, self.needed)() else None)


class NotificationSettingsForm(FlaskForm):
    """Where notifications go; the fallback server's password is never shown and a blank keeps it."""

    webhook_urls = TextAreaField(_l("Webhook URLs"), validators=[Length(max=MAX_WEBHOOKS * 2100)], description=_l(
        "One per line: Slack, Microsoft Teams or any receiver of JSON POSTs. https, or http on this machine only."))
    recipients = TextAreaField(_l("Email recipients"), validators=[Length(max=MAX_RECIPIENTS * 330)],
                               description=_l("One address per line."))
    fallback_host = StringField(_l("SMTP host"), validators=[Length(max=255)],
                                description=_l("Such as localhost for this machine's mail server. Blank: none."))
    fallback_port = IntegerField(_l("Port"), validators=[
        NeededWhen("has_host", _l("Enter a port, such as 25.")),
        NumberRange(1, 65535, _l("A port is a number from 1 to 65535."))])
    fallback_security = SelectField(_l("Security"), choices=[SelectChoice("none", _l("None")),
                                                             SelectChoice("starttls", "STARTTLS"),
                                                             SelectChoice("ssl", "SSL/TLS")])
    fallback_username = StringField(_l("Username"), validators=[Optional(), Length(max=320), single_line],
                                    description=_l("Blank: no authentication."))
    fallback_password = PasswordField(_l("Password"), validators=[
        NeededWhen("needs_password", _l("Enter the password of this username.")), Length(max=1024)])
    fallback_sender = EmailField(_l("Sender address"), validators=[
        NeededWhen("needs_sender", _l("Enter the address alert emails come from.")), Length(max=320),
        EmailAddress(_l("Enter an email address, such as alerts@example.com."))],
        description=_l("Blank: the email server's sender address, else the username."))
    save = SubmitField(_l("Save"))
    send_test = SubmitField(_l("Send a test notification"))

    def __init__(self, *args, block_private_networks: bool = False, password_stored: bool = False,
                 server_sender: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.block_private_networks, self.password_stored = block_private_networks, password_stored
        self.server_sender = server_sender

    def validate_webhook_urls(self, field):
        """Each line a URL the console may post to, naming the ones it may not and why."""
        urls = lines(field.data)
        if len(urls) > MAX_WEBHOOKS:
            raise ValidationError(_("At most %(count)s webhooks.", count=MAX_WEBHOOKS))
        problems = [f"{url}: {problem}" for url in urls
                    if (problem := destination_problem(url, self.block_private_networks))]
        if problems:
            raise ValidationError(" ".join(problems))

    def validate_recipients(self, field):
        """Each line an address mail can be sent to."""
        addresses = lines(field.data)
        if len(addresses) > MAX_RECIPIENTS:
            raise ValidationError(_("At most %(count)s recipients.", count=MAX_RECIPIENTS))
        for address in addresses:
            try:
                validate_email(address, check_deliverability=False)
            except EmailNotValidError as error:
                raise ValidationError(_("%(address)s is not an email address: %(reason)s", address=address,
                                        reason=error)) from None

    def validate_fallback_host(self, field):
        """A bare host name or address, outside blocked private networks."""
        field.data = (field.data or "").strip()
        if any(char.isspace() or char in "/@" for char in field.data):
            raise ValidationError(_("Enter a host name or IP address only, such as localhost."))
        if field.data and self.block_private_networks and (problem := private_address_problem(field.data)):
            raise ValidationError(problem)

    def validate_fallback_security(self, field):
        """No password over an unencrypted connection, except to this machine."""
        authentication = "password" if self.fallback_username.data else "none"
        problem = self.fallback_host.data and plaintext_auth_problem(self.fallback_host.data, field.data,
                                                                     authentication)
        if problem:
            raise ValidationError(problem)

    def has_host(self) -> bool:
        """A fallback server is being set: its port is then needed."""
        return bool(self.fallback_host.data)

    def needs_password(self) -> bool:
        """A username signs in with a password: typed now, or the stored one."""
        return bool(self.fallback_username.data) and not self.password_stored

    def needs_sender(self) -> bool:
        """Alert emails need a From: this field, else the email server's sender, else a username that is an
        address."""
        return self.has_host() and not (self.server_sender or "@" in (self.fallback_username.data or ""))

    def values(self) -> dict:
        """What to store: one entry per line, trimmed; a blank password keeps the stored one."""
        return {
            "webhook_urls": "\n".join(lines(self.webhook_urls.data)) or None,
            "recipients": "\n".join(lines(self.recipients.data)) or None,
            "fallback_host": self.fallback_host.data or None,
            "fallback_port": self.fallback_port.data or 25,
            "fallback_security": self.fallback_security.data,
            "fallback_username": (self.fallback_username.data or "").strip() or None,
            "fallback_password": self.fallback_password.data or None,
            "fallback_sender": self.fallback_sender.data or None,
        }
