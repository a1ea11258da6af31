"""Forms of the API keys page."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length


class NewKeyForm(FlaskForm):
    name = StringField(_l("Key name"), validators=[DataRequired(_l("Name the key after the program that will use it.")),
                                                   Length(max=100)],
                       description=_l("Which program uses it, e.g. reporting-server."))
    submit = SubmitField(_l("Create key"))


class RevokeKeyForm(FlaskForm):
    submit = SubmitField(_l("Revoke"))
