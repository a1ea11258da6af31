"""Login and first-run setup forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length

from .accounts import MIN_PASSWORD_LENGTH

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


class NewAdminForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[
        DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=1024, message=TOO_SHORT)])
    submit = SubmitField(_l("Add administrator"))


class RemoveAdminForm(FlaskForm):
    submit = SubmitField(_l("Remove"))


class EndOtherSessionsForm(FlaskForm):
    submit = SubmitField(_l("Log out everywhere else"))


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=1024)])
    new_password = PasswordField(_l("New password"), validators=[
        DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=1024, message=TOO_SHORT)])
    confirm = PasswordField(_l("Confirm new password"), validators=[DataRequired(), EqualTo("new_password", MISMATCH)])
    submit = SubmitField(_l("Change password"))
