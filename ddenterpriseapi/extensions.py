"""One instance per Flask extension, bound to the app in create_app, and the app's Runtime for the views."""

from flask import current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase

from .runtime import Runtime


class Base(DeclarativeBase):
    """Declarative base shared by every model."""


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address)


def current_runtime() -> Runtime:
    """The running app's Runtime: what views, forms and commands hand to the services."""
    return current_app.extensions["dde_runtime"]
