"""Forms of the API keys page."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

SCOPES = [SelectChoice("both", _l("The API and the SMTP relay")), SelectChoice("api", _l("The API only")),
          SelectChoice("relay", _l("The SMTP relay only"))]
SCOPE_LABELS = {choice.value: choice.label for choice in SCOPES}


class NewKeyForm(FlaskForm):
    name = StringField(_l("Key name"), validators=[DataRequired(_l("Name the key after the program that will use it.")),
                                                   Length(max=100)],
                       description=_l("Which program uses it, e.g. reporting-server."))
    scope = SelectField(_l("Used with"), default="both", choices=SCOPES,
                        description=_l("On the relay, the key is the SMTP password (any user name)."))
    submit = SubmitField(_l("Create key"))


class RevokeKeyForm(FlaskForm):
    submit = SubmitField(_l("Revoke"))
