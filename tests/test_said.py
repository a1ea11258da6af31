"""Sentences kept as codes and values: stored as JSON, worded again in whichever language reads them."""

import json

from flask_babel import force_locale

from ddenterpriseapi.said import Said, joined, read_stored, said, stored


def test_a_sentence_survives_json_and_is_worded_in_the_readers_language(app):
    reason = joined(said("auth_refused", reply="535 5.7.8 Bad credentials"), said("reply_fix", marker="5.7.8"))
    stored = json.loads(json.dumps(said("failed_to", recipient="boss@example.org", reason=reason).data()))
    read = Said.from_data("failed_to", stored)
    with app.test_request_context():
        with force_locale("en"):
            english = str(read)
        with force_locale("fr"):
            french = str(read)
    assert english.startswith("to boss@example.org: The server refused authentication: 535 5.7.8 Bad credentials.")
    assert "Google refused the credentials" in english
    assert "535 5.7.8 Bad credentials" in french and "Google a refusé les identifiants" in french


def test_a_stored_sentence_another_version_wrote_still_shows_its_values(app):
    with app.test_request_context():
        assert Said("a_code_from_later", {"reply": "550 No"}).shown() == "550 No"
        assert Said("provider_answered", {"unexpected": "text"}).shown() == "text"
        assert str(said("tls_failed", where="mail.example.com:465")) == "TLS with mail.example.com:465 failed ()."


def test_a_column_keeps_a_sentence_and_reads_older_text_as_it_was(app):
    column = stored(said("grant_parameters_changed", fields="client_id"))
    with app.test_request_context():
        with force_locale("fr"):
            assert str(read_stored(column)).startswith("Les paramètres OAuth ont changé (client_id)")
        with force_locale("en"):
            assert str(read_stored(column)).startswith("The OAuth parameters changed (client_id)")
            assert str(read_stored("Le fournisseur a refusé.")) == "Le fournisseur a refusé."  # written before
        assert read_stored(None) is None
