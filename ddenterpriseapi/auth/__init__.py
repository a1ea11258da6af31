"""Administrators: first-run setup, login, logout, accounts and sessions."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from . import account_views, admin_views, views  # noqa: E402,F401  (routes register on import)
