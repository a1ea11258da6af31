"""The email server page and sending mail."""

from flask import Blueprint

bp = Blueprint("mail", __name__)
