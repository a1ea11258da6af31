"""Administrators: first-run setup, login, logout."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from . import admin_views, views  # noqa: E402,F401  (routes register on import)
