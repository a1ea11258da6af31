"""The console in French: language choice, translated labels, validation messages and flashes, a complete catalog."""

import html
import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from tests.helpers import csrf_from, submit

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "ddenterpriseapi" / "translations"
PO = LOCALES / "fr" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")
LOGIN = "/ddenterpriseapi/login"
DASHBOARD = "/ddenterpriseapi/"
OAUTH = "/ddenterpriseapi/configuration/oauth"
EMAIL_SERVER = "/ddenterpriseapi/configuration/email-server"
FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}


def text(response) -> str:
    """The page as a reader sees it (entities such as &#39; decoded)."""
    return html.unescape(response.get_data(as_text=True))


def catalog():
    with PO.open("rb") as handle:
        return read_po(handle)


def test_browser_in_french_gets_the_login_page_in_french(auth, client):
    page = text(client.get(LOGIN, headers=FRENCH))
    assert '<html lang="fr">' in page
    assert "Nom d'utilisateur" in page
    assert "Mot de passe" in page
    assert 'value="Se connecter"' in page
    assert "Username" not in page


def test_browser_in_english_gets_english(auth, client):
    page = text(client.get(LOGIN, headers={"Accept-Language": "en-US,en;q=0.9"}))
    assert '<html lang="en">' in page
    assert "Username" in page and 'value="Log in"' in page


def test_wrong_password_and_missing_field_in_french(auth, client):
    page = text(submit(client, LOGIN, {"username": "admin", "password": "wrong"}, headers=FRENCH))
    assert "Nom d'utilisateur ou mot de passe incorrect." in page
    page = text(submit(client, LOGIN, {"username": "", "password": "x"}, headers=FRENCH))
    assert "Ce champ est requis." in page  # WTForms' own messages follow the language too


def test_language_switch_sticks_across_pages_and_switches_back(auth, client):
    assert 'value="Se connecter"' in text(client.get(LOGIN + "?lang=fr"))
    auth.login()  # a new session starts at login; the language chosen before it stays
    page = text(client.get(DASHBOARD))
    assert '<html lang="fr">' in page and "Tableau de bord" in page
    page = text(client.get(EMAIL_SERVER))  # no parameter: the session remembers
    assert '<html lang="fr">' in page
    assert "Serveur de messagerie" in page and "Adresse de l'expéditeur" in page
    assert 'value="Envoyer un e-mail de test"' in page
    page = text(client.get(OAUTH, headers={"Accept-Language": "en"}))  # the choice beats the browser's
    assert "Paramètres OAuth" in page and "Identifiant client" in page and "Jeton d'actualisation" in page
    page = text(client.get(OAUTH + "?lang=en"))
    assert '<html lang="en">' in page and "OAuth parameters" in page
    assert '<html lang="en">' in text(client.get(DASHBOARD, headers=FRENCH))


def test_bad_tenant_is_explained_in_french(auth, client):
    auth.login()
    client.get(DASHBOARD + "?lang=fr")
    page = text(submit(client, OAUTH, {"provider": "microsoft", "tenant": "not a tenant", "save": "1"}))
    assert "'not a tenant' n'est pas un locataire accepté par Microsoft." in page
    assert "Saisissez l'ID de votre annuaire (locataire)" in page
    assert "Locataire" in page and "Fournisseur OAuth" in page


def test_bad_port_is_explained_in_french(auth, client):
    auth.login()
    client.get(DASHBOARD + "?lang=fr")
    page = text(submit(client, EMAIL_SERVER, {"host": "smtp.example.com", "port": "70000", "security": "starttls",
                                              "authentication": "none", "save": "1"}))
    assert "Un port est un nombre compris entre 1 et 65535." in page


def test_saving_flashes_in_french(auth, client):
    auth.login()
    client.get(DASHBOARD + "?lang=fr")
    response = submit(client, EMAIL_SERVER, {"host": "smtp.example.com", "port": "587", "security": "starttls",
                                              "authentication": "none", "save": "1"}, follow_redirects=True)
    assert "Serveur de messagerie enregistré." in text(response)


def test_audit_log_and_error_pages_in_french(auth, client):
    auth.login()
    page = text(client.get("/ddenterpriseapi/audit?lang=fr"))
    assert "Journal d'audit" in page and "connexion" in page
    page = text(client.get("/ddenterpriseapi/no-such-page"))
    assert "Page introuvable" in page and "Il n'y a aucune page à cette adresse." in page


def test_json_api_answers_in_english_whatever_the_browser(auth, client):
    auth.login()
    keys = client.get("/ddenterpriseapi/configuration/api-keys")
    created = text(client.post("/ddenterpriseapi/configuration/api-keys",
                               data={"name": "reporting", "csrf_token": csrf_from(keys)}))
    key = re.search(r'id="new-key" type="text" readonly value="([^"]+)"', created).group(1)
    response = client.application.test_client().post(
        "/ddenterpriseapi/v2/mail", json={"to": ["a@example.org"], "subject": "s", "text": "t"},
        headers={"Authorization": f"Bearer {key}", **FRENCH})
    assert response.status_code == 422
    assert response.json["error"] == ("Name a sender (from), or set the Sender address on the Email server page: no "
                                      "account is authorized yet to send as.")


def forms(text: str | tuple) -> tuple:
    """A message's singular and plural forms (one for most messages)."""
    return tuple(text) if isinstance(text, (tuple, list)) else (text,)


def test_every_message_has_a_french_translation_with_the_same_placeholders():
    messages = [message for message in catalog() if message.id]
    assert messages
    for message in messages:
        sources = forms(message.id)
        for index, translation in enumerate(forms(message.string)):  # French has a third form, for millions
            source = sources[min(index, len(sources) - 1)]
            assert translation.strip(), f"untranslated: {source!r}"
            assert sorted(PLACEHOLDER.findall(source)) == sorted(PLACEHOLDER.findall(translation)), source
        assert "fuzzy" not in message.flags, f"fuzzy: {message.id!r}"


def test_catalog_covers_every_message_of_the_sources():
    with (ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    keywords = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
    in_sources = {forms(message[2])[0] for message in extract_from_dir(ROOT, method_map, options_map, keywords)}
    in_catalog = {forms(message.id)[0] for message in catalog() if message.id}
    assert in_sources - in_catalog == set(), "run `make translations` and translate the new messages"


@pytest.mark.parametrize("po", sorted(LOCALES.glob("*/LC_MESSAGES/messages.po")), ids=lambda path: path.parts[-3])
def test_compiled_catalog_matches_the_po(po):
    with po.open("rb") as handle:
        source = {forms(message.id): forms(message.string) for message in read_po(handle) if message.id}
    with po.with_suffix(".mo").open("rb") as handle:
        compiled = {forms(message.id): forms(message.string) for message in read_mo(handle) if message.id}
    assert compiled == source, "run `make translations` to recompile the .mo files"
