"""Forms of the login, first-run setup, administrators and account pages."""

from flask import current_app, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from .accounts import MIN_PASSWORD_LENGTH, AccountError
from .reauth import confirm_password
from .setup_code import check_setup_code

TOO_SHORT = _l("Use at least %(count)s characters.", count=MIN_PASSWORD_LENGTH)
MISMATCH = _l("The passwords do not match.")


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])
    submit = SubmitField(_l("Log in"))


class SetupForm(FlaskForm):
    setup_code = StringField(
        _l("Setup code"),
        validators=[DataRequired(), Length(max=64)],
        description=_l("Printed by the server at its first start, and kept in instance/setup-code."),
    )
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=1024, message=TOO_SHORT)],
        description=_l("At least %(count)s characters.", count=MIN_PASSWORD_LENGTH),
    )
    confirm = PasswordField(_l("Confirm password"), validators=[DataRequired(), EqualTo("password", MISMATCH)])
    submit = SubmitField(_l("Create administrator"))

    def validate_setup_code(self, field):
        """Checked with the other fields, so every mistake is reported at once."""
        if not check_setup_code(current_app.instance_path, field.data):
            raise ValidationError(_l("This is not the setup code printed by the server."))


class IsCurrentPassword:
    """The logged-in administrator's own password, asked again before a sensitive change."""

    def __call__(self, form, field):
        try:
            confirm_password(current_user._get_current_object(), field.data, request.remote_addr)
        except AccountError as error:
            raise ValidationError(str(error)) from None


class NewAdminForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[
        DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=1024, message=TOO_SHORT)])
    current_password = PasswordField(_l("Your password"), validators=[
        DataRequired(), Length(max=1024), IsCurrentPassword()], description=_l("Asked again to confirm it is you."))
    submit = SubmitField(_l("Add administrator"))


class RemoveAdminForm(FlaskForm):
    submit = SubmitField(_l("Remove"))


class EndOtherSessionsForm(FlaskForm):
    submit = SubmitField(_l("Log out everywhere else"))


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[
        DataRequired(), Length(max=1024), IsCurrentPassword()])
    new_password = PasswordField(_l("New password"), validators=[
        DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=1024, message=TOO_SHORT)])
    confirm = PasswordField(_l("Confirm new password"), validators=[DataRequired(), EqualTo("new_password", MISMATCH)])
    submit = SubmitField(_l("Change password"))
