"""Engine options: a failed statement never quotes its parameters, which may be decrypted secrets."""

import pytest
from sqlalchemy.exc import StatementError

from ddenterpriseapi import create_app
from ddenterpriseapi.extensions import db
from ddenterpriseapi.models import OAuthConnection


def test_failed_statement_does_not_quote_its_parameters(app):
    with app.app_context(), pytest.raises(StatementError) as failure:
        db.session.add(OAuthConnection(id=1, provider="google", refresh_token=["not", "text"],
                                       access_token="plaintext-access-token"))
        db.session.flush()
    assert "plaintext-access-token" not in str(failure.value)


def test_parameters_are_hidden_on_postgresql_too(tmp_path):
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path),
                      "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://console@127.0.0.1:1/console"})
    with app.app_context():
        assert db.engine.hide_parameters
