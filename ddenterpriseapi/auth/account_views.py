"""One's own account: changing the password, and the sessions open in other browsers."""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from .. import audit
from . import bp
from .accounts import AccountError, change_password
from .forms import ChangePasswordForm, EndOtherSessionsForm
from .guard import requester, session_limits
from .sessions import end_other_sessions, list_sessions, token_hash


@bp.route("/account/password", methods=["GET", "POST"])
def password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            change_password(current_user._get_current_object(), form.new_password.data)
        except AccountError as error:
            form.new_password.errors.append(str(error))
        else:
            audit.record("password_changed", requester())
            flash(_("Password changed. Your other sessions are logged out."), "success")
            return redirect(url_for("dashboard.index"))
    return render_template("auth/password.html", form=form)


@bp.route("/account/sessions")
def sessions():
    limits = session_limits()
    return render_template("auth/sessions.html", form=EndOtherSessionsForm(), limits=limits,
                           current=token_hash(current_user.get_id()), sessions=list_sessions(current_user, limits))


@bp.route("/account/sessions/end-others", methods=["POST"])
def end_others():
    if EndOtherSessionsForm().validate_on_submit():
        count = end_other_sessions(current_user._get_current_object())
        audit.record("sessions_ended", requester(), wording="sessions_logged_out", count=count)
        flash(ngettext("%(num)s other session logged out.", "%(num)s other sessions logged out.", count), "success")
    return redirect(url_for(".sessions"))
