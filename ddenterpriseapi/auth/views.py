"""First-run setup, login and logout."""

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from .. import audit
from ..api.errors import is_api_path
from ..audit import Actor
from ..extensions import limiter
from ..said import Said
from . import bp
from .accounts import AccountError, admin_count, authenticate, create_admin, find_admin
from .forms import LoginForm, SetupForm
from .guard import login_exempt, requester, require_login, safe_next, session_limits
from .sessions import end_session, open_session
from .setup_code import close_setup
from .throttle import failed_logins_notice, refusal


def setup_first():
    """Until an administrator exists, the only page is setup (programs calling the API get its JSON answers)."""
    if request.endpoint in ("auth.setup", "static") or request.blueprint in ("health", "metrics") or is_api_path(
            request.path):
        return None
    if not current_app.extensions.get("dde_has_admin"):
        if admin_count() == 0:
            return redirect(url_for("auth.setup"))
        current_app.extensions["dde_has_admin"] = True  # never back to zero: the last one cannot be removed
    return None


bp.before_app_request(setup_first)
bp.before_app_request(require_login)


@bp.route("/setup", methods=["GET", "POST"])
@login_exempt
@limiter.limit("10 per minute", methods=["POST"])
def setup():
    if admin_count() > 0:
        flash(_("Setup is complete. Log in with an administrator account."), "info")
        return redirect(url_for("auth.login"))
    form = SetupForm()
    if form.validate_on_submit():
        try:
            admin = create_admin(form.username.data, form.password.data)
        except AccountError as error:
            form.username.errors.append(str(error))
        else:
            close_setup(current_app.instance_path)
            audit.record("admin_created", Actor(admin.username, request.remote_addr), admin.username,
                         wording="first_administrator")
            start_session(admin)
            flash(_("Welcome, %(name)s. Configure OAuth to start sending mail.", name=admin.username), "success")
            return redirect(url_for("oauth.settings"))
    return render_template("auth/setup.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
@login_exempt
@limiter.limit("10 per minute", methods=["POST"])
def login():
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form)
    admin = find_admin(form.username.data)
    name = admin.username if admin else form.username.data.strip()  # every case counts against one account
    refused = refusal(name, request.remote_addr)
    admin = None if refused else authenticate(admin, form.password.data)
    if admin is None:
        return login_failed(form, name, refused)
    notice = failed_logins_notice(admin)
    start_session(admin)
    audit.record("login", Actor(admin.username, request.remote_addr))
    if notice:
        flash(notice, "warning")
    return redirect(safe_next(request.args.get("next")) or url_for("dashboard.index"))


def login_failed(form: LoginForm, name: str, refused: Said | None):
    """The login page again, saying why, and the attempt in the audit log."""
    # A refused attempt checked no password: it is no failure, or waiting longer would be its only effect.
    audit.record("login_refused" if refused else "login_failed", Actor(name, request.remote_addr),
                 wording=refused or "wrong_credentials")
    form.password.errors.append(str(refused or _("Wrong username or password.")))
    return render_template("auth/login.html", form=form), 429 if refused else 200


@bp.route("/logout", methods=["POST"])
def logout():
    audit.record("logout", requester())
    end_session(current_user.get_id())
    logout_user()
    clear_session()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))


def start_session(admin) -> None:
    """A fresh session for the administrator, so no session identifier from before login survives it."""
    end_session(current_user.get_id())  # logging in again on this browser replaces its session
    clear_session()
    session.permanent = True
    open_session(admin, request.remote_addr, request.user_agent.string, session_limits())
    login_user(admin)


def clear_session() -> None:
    """Empty the session, keeping only the language the visitor chose."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
