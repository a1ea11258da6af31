"""Login and first-run setup forms."""

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length

from .accounts import MIN_PASSWORD_LENGTH


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    submit = SubmitField("Log in")


class SetupForm(FlaskForm):
    setup_code = StringField(
        "Setup code",
        validators=[DataRequired(), Length(max=64)],
        description="Printed by the server at its first start, and kept in instance/setup-code.",
    )
    username = StringField("Username", validators=[DataRequired(), Length(max=64)])
    password = PasswordField(
        "Password",
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=1024,
                                           message=f"Use at least {MIN_PASSWORD_LENGTH} characters.")],
        description=f"At least {MIN_PASSWORD_LENGTH} characters.",
    )
    confirm = PasswordField(
        "Confirm password", validators=[DataRequired(), EqualTo("password", "The passwords do not match.")]
    )
    submit = SubmitField("Create administrator")


class NewAdminForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("Password", validators=[
        DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=1024, message=f"Use at least {MIN_PASSWORD_LENGTH} characters.")])
    submit = SubmitField("Add administrator")


class RemoveAdminForm(FlaskForm):
    submit = SubmitField("Remove")


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired(), Length(max=1024)])
    new_password = PasswordField("New password", validators=[
        DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=1024, message=f"Use at least {MIN_PASSWORD_LENGTH} characters.")])
    confirm = PasswordField("Confirm new password",
                            validators=[DataRequired(), EqualTo("new_password", "The passwords do not match.")])
    submit = SubmitField("Change password")
