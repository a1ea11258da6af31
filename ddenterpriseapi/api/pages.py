"""The API keys page: create (shown once, for the API, the relay or both), see what each sent, revoke."""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import audit
from ..auth.guard import requester
from . import keys_bp
from .forms import SCOPE_LABELS, NewKeyForm, RevokeKeyForm
from .keys import KeyUsage, create_key, key_usage, list_keys, revoke_key


@keys_bp.route("/configuration/api-keys", methods=["GET", "POST"])
def index():
    form = NewKeyForm()
    new_key = None
    if form.validate_on_submit():
        record, new_key = create_key(form.name.data, current_user.username, form.scope.data)
        audit.record("api_key_created", requester(), wording="api_key", name=record.name, prefix=record.prefix,
                     scope=record.scope)
        form = NewKeyForm(formdata=None)
    return render_template("api/keys.html", form=form, keys=list_keys(), new_key=new_key, usage=key_usage(),
                           unused=KeyUsage(), scopes=SCOPE_LABELS)


@keys_bp.route("/configuration/api-keys/<int:key_id>/revoke", methods=["POST"])
def revoke(key_id: int):
    if RevokeKeyForm().validate_on_submit():
        record = revoke_key(key_id)
        if record is not None:
            audit.record("api_key_revoked", requester(), f"{record.name} ({record.prefix}…)")
            flash(_("The key %(name)s is revoked: requests with it are refused from now on.", name=record.name),
                  "success")
    return redirect(url_for(".index"))
