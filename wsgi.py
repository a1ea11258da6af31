"""WSGI entry point: gunicorn wsgi:app."""

from ddenterpriseapi import create_app
from ddenterpriseapi.auth.setup_code import announce_setup

app = create_app()
announce_setup(app)
