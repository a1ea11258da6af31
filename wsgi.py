"""WSGI entry point: gunicorn wsgi:app."""

import os
import sys

from ddenterpriseapi import create_app
from ddenterpriseapi.auth.setup_code import announce_setup
from ddenterpriseapi.database import schema_problem

app = create_app()
with app.app_context():
    problem = schema_problem()
if problem:
    sys.exit(problem)  # one line on stderr and exit status 1, before gunicorn forks workers that would all fail
announce_setup(app, os.environ.get("DDE_BIND", "127.0.0.1:8080"))  # gunicorn.conf.py's bind
