"""Forms of the API keys page."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, SubmitField
from wtforms.validators import DataRequired, Length


class NewKeyForm(FlaskForm):
    name = StringField("Key name", validators=[DataRequired("Name the key after the program that will use it."),
                                               Length(max=100)],
                       description="Which program uses it, e.g. reporting-server.")
    submit = SubmitField("Create key")


class RevokeKeyForm(FlaskForm):
    key_id = HiddenField()
    submit = SubmitField("Revoke")
