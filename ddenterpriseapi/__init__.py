"""ddenterpriseapi: send a server's email through Google and Microsoft 365 SMTP with OAuth 2.0."""

import logging
import os
import secrets
from datetime import timedelta
from pathlib import Path

from flask import Flask
from flask_babel import lazy_gettext as _l
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.middleware.shared_data import SharedDataMiddleware
from werkzeug.utils import redirect

from . import config as defaults
from . import errors, logs, security, templating
from .crypto import Vault, bind_vault, instance_keys, write_private_file
from .extensions import csrf, db, limiter, login_manager, migrate
from .providers import build_registry, parse_overrides
from .runtime import Runtime

PROJECT_ROOT = Path(__file__).resolve().parent.parent
URL_PREFIX = "/ddenterpriseapi"
QUIET_LOGGERS = ("oauthlib", "requests_oauthlib", "urllib3")  # they log token bodies at DEBUG
DURATIONS = ("OAUTH_STATE_LIFETIME", "SESSION_IDLE_TIMEOUT")


def create_app(test_config: dict | None = None) -> Flask:
    """Build the console: config layers, extensions, blueprints, CLI, proxy handling."""
    app = Flask(
        __name__,
        instance_path=instance_folder(test_config),
        instance_relative_config=True,  # config.py is the instance folder's, not the package's defaults
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    load_config(app, test_config)
    logs.init(app)
    init_extensions(app)
    register_blueprints(app)
    templating.init(app)
    security.init(app)
    errors.init(app)
    mount(app)
    return app


def instance_folder(test_config: dict | None) -> str:
    """The tests' INSTANCE_PATH when they pass a config, else DDE_INSTANCE_PATH, else instance/."""
    path = test_config.get("INSTANCE_PATH") if test_config is not None else os.environ.get("DDE_INSTANCE_PATH")
    return str(Path(path or PROJECT_ROOT / "instance").resolve())


def load_config(app: Flask, test_config: dict | None) -> None:
    """Defaults, then instance/config.py and DDE_* variables; a test's dict replaces those two entirely."""
    app.config.from_object(defaults)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("DDE")
    else:  # a shell's DDE_* settings must not point a test at a real database
        app.config.update(test_config)
    instance = Path(app.instance_path)
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)  # it holds the keys: its owner's alone
    fill_instance_defaults(app.config, instance)
    app.extensions["dde_runtime"] = Runtime.from_config(
        app.config, build_registry(parse_overrides(app.config["OAUTH_PROVIDER_OVERRIDES"])),
        vault_for(app.config["ENCRYPTION_KEYS"], instance / "encryption-keys"))
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def fill_instance_defaults(config, instance: Path) -> None:
    """What is not configured lives in the instance folder (secret key, SQLite file); durations given in seconds."""
    if not config["SECRET_KEY"]:
        write_private_file(instance / "secret-key", secrets.token_urlsafe(48))
        config["SECRET_KEY"] = (instance / "secret-key").read_text().strip()
    if not config["SQLALCHEMY_DATABASE_URI"]:
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'ddenterpriseapi.db'}"
    for name in DURATIONS:
        if not isinstance(config[name], timedelta):  # seconds, e.g. from DDE_SESSION_IDLE_TIMEOUT
            config[name] = timedelta(seconds=int(config[name]))


def vault_for(keys: str | list[str] | None, key_file: Path) -> Vault:
    """The configured keys (a list, or comma-separated), else the instance folder's key file."""
    if isinstance(keys, str):
        keys = [key.strip() for key in keys.split(",") if key.strip()]
    return Vault(keys) if keys else Vault(instance_keys(key_file), key_file)


def init_extensions(app: Flask) -> None:
    """Bind the extensions and the database engine options."""
    from . import database

    database.configure(app)
    db.init_app(app)
    with app.app_context():
        bind_vault(db.engine, app.extensions["dde_runtime"].vault)
    migrate.init_app(app, db, directory=str(database.MIGRATIONS),
                     render_item=database.render_migration_type)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Log in to continue.")
    login_manager.localize_callback = str  # flash a plain string: the session cannot store a lazy one
    # Flask-Login's "strong" protection leaves permanent sessions (all of ours) alone; the session records
    # in the database are what end a session (auth/sessions.py).
    login_manager.session_protection = None


def register_blueprints(app: Flask) -> None:
    """Every page and API, the CLI commands, and the web's watch for a dead worker."""
    from . import api, auth, cli, dashboard, health, mail, metrics, notify, oauth
    from .notify import web
    from .outbox import views as outbox

    for blueprint in (auth.bp, dashboard.bp, outbox.bp, oauth.bp, mail.bp, notify.bp, api.bp, api.keys_bp, health.bp,
                      metrics.bp):
        app.register_blueprint(blueprint)
    cli.register(app)
    web.init(app)


def mount(app: Flask) -> None:
    """Serve the console under /ddenterpriseapi (and its icon at /favicon.ico), trusting the configured proxies."""
    proxies = int(app.config["TRUSTED_PROXIES"])
    inner = app.wsgi_app
    if proxies:
        inner = ProxyFix(inner, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies, x_prefix=proxies)
    dispatcher = DispatcherMiddleware(redirect(URL_PREFIX + "/"), {URL_PREFIX: inner})
    # Browsers ask for /favicon.ico on their own: it answers, instead of a redirect to the login page.
    served = SharedDataMiddleware(dispatcher, {"/favicon.ico": str(PROJECT_ROOT / "static" / "favicon.ico")})
    # A copy of the environ, so the server's access log still shows the path as requested.
    app.wsgi_app = lambda environ, start_response: served(dict(environ), start_response)
