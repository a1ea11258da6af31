"""The Administrators page: add and remove administrators."""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _

from .. import audit
from . import bp
from .accounts import AccountError, create_admin, list_admins, remove_admin
from .forms import NewAdminForm, RemoveAdminForm
from .guard import requester


@bp.route("/configuration/administrators", methods=["GET", "POST"])
def admins():
    form = NewAdminForm()
    if form.validate_on_submit():
        try:
            admin = create_admin(form.username.data, form.password.data)
        except AccountError as error:
            form.username.errors.append(str(error))
        else:
            audit.record("admin_created", requester(), admin.username)
            flash(_("Administrator %(name)s added.", name=admin.username), "success")
            return redirect(url_for(".admins"))
    return render_template("auth/admins.html", form=form, admins=list_admins())


@bp.route("/configuration/administrators/<int:admin_id>/remove", methods=["POST"])
def remove(admin_id: int):
    if RemoveAdminForm().validate_on_submit():
        try:
            admin = remove_admin(admin_id)
        except AccountError as error:
            flash(str(error), "error")
        else:
            audit.record("admin_removed", requester(), admin.username)
            flash(_("Administrator %(name)s removed.", name=admin.username), "success")
    return redirect(url_for(".admins"))
