"""Reading app-only credential material: what is accepted, what is refused with which message."""

import base64
import hashlib
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ddenterpriseapi.oauth.credentials import CredentialProblem, read_certificate, read_service_account_key
from tests.servers.app_credentials import app_certificate, private_pem, rsa_key, service_account


@pytest.fixture(autouse=True)
def request_context(app):
    with app.test_request_context():
        yield


def test_a_certificate_yields_its_thumbprints_dates_and_key():
    material = app_certificate(days=30)
    certificate = read_certificate(material.pem)
    der = x509.load_pem_x509_certificate(material.certificate_pem.encode()).public_bytes(serialization.Encoding.DER)
    assert certificate.x5t_s256 == base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()
    assert len(certificate.thumbprint_sha1) == 40
    assert certificate.not_after == material.not_after
    assert "BEGIN PRIVATE KEY" in certificate.private_key_pem
    assert certificate.subject == "CN=ddenterpriseapi test app"


def test_the_certificate_may_come_before_the_key():
    material = app_certificate()
    key_part, certificate_part = material.pem.split("-----BEGIN CERTIFICATE-----")
    assert read_certificate("-----BEGIN CERTIFICATE-----" + certificate_part + key_part).x5t_s256


@pytest.mark.parametrize("pem, message", [
    ("", "Paste the PEM text"),
    (app_certificate().certificate_pem, "No private key was found"),
    (private_pem(rsa_key()), "No certificate was found"),
    (private_pem(rsa_key()) + app_certificate().certificate_pem, "do not belong together"),
    (private_pem(ec.generate_private_key(ec.SECP256R1())) + app_certificate().certificate_pem, "RSA key"),
])
def test_unusable_pem_text_is_explained(pem, message):
    with pytest.raises(CredentialProblem, match=message):
        read_certificate(pem)


def test_a_password_protected_key_is_explained():
    key = rsa_key()
    locked = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                               serialization.BestAvailableEncryption(b"secret")).decode()
    with pytest.raises(CredentialProblem, match="protected by a password") as caught:
        read_certificate(locked + app_certificate(key=key).certificate_pem)
    assert "PRIVATE KEY" not in str(caught.value)


def test_a_service_account_key_file_yields_who_it_is():
    account = service_account("https://oauth2.googleapis.com/token")
    key = read_service_account_key(account.key_file)
    assert (key.client_email, key.client_id, key.private_key_id, key.project_id) == (
        account.client_email, account.client_id, account.private_key_id, "reports-project")
    assert key.token_uri == "https://oauth2.googleapis.com/token"


@pytest.mark.parametrize("change, message", [
    (lambda fields: "not json", "not JSON"),
    (lambda fields: json.dumps({**fields, "type": "authorized_user"}), "not a service account key"),
    (lambda fields: json.dumps({k: v for k, v in fields.items() if k != "client_email"}), "lacks client_email"),
    (lambda fields: json.dumps({**fields, "private_key": "garbage"}), "cannot be read"),
])
def test_an_unusable_key_file_is_explained(change, message):
    fields = json.loads(service_account("https://oauth2.googleapis.com/token").key_file)
    with pytest.raises(CredentialProblem, match=message) as caught:
        read_service_account_key(change(fields))
    assert "BEGIN" not in str(caught.value)
