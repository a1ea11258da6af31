"""Language choice, template helpers and filters."""

from datetime import UTC, date, datetime

from babel.dates import format_skeleton
from flask import Flask, has_request_context, request, session
from flask_babel import Babel, format_datetime, format_timedelta, get_locale
from markupsafe import Markup

LANGUAGES = ("en", "fr")


def select_locale() -> str:
    """The language picked with the page's switch, else the browser's preference.

    The command line and the JSON API (answers for programs) always speak English.
    """
    if not has_request_context() or request.blueprint == "api":
        return "en"
    chosen = session.get("lang")
    return chosen if chosen in LANGUAGES else request.accept_languages.best_match(LANGUAGES) or "en"


def remember_language_choice() -> None:
    """The language switch submits ?lang=xx on any page."""
    if request.args.get("lang") in LANGUAGES:
        session["lang"] = request.args["lang"]


def format_day(value: date, skeleton: str = "yMMMd") -> str:
    """A day in the page's language: a CLDR skeleton lets each language order it ("Dec 1" or "1 déc.")."""
    return format_skeleton(skeleton, value, locale=get_locale())


def format_moment(value: datetime | None) -> Markup | str:
    """A time in the page's language, kept on one line wherever it lands (a narrow table cell, a sentence)."""
    if not value:
        return ""
    stamp = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Markup('<time datetime="{}">{} UTC</time>').format(stamp, format_datetime(value, "medium"))


def init(app: Flask) -> None:
    """Babel, the jinja 'do' extension used by the form macros, and the datetime, day and duration filters."""
    Babel(app, locale_selector=select_locale, default_timezone="UTC")
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.filters["datetime"] = format_moment
    app.jinja_env.filters["duration"] = format_timedelta
    app.jinja_env.filters["day"] = format_day
    app.context_processor(lambda: {"current_locale": lambda: str(get_locale())})
    app.before_request(remember_language_choice)
