"""The credential material of app-only sign-in, read and checked: a Microsoft application's certificate (PEM private
key and certificate) and a Google service account's JSON key. What a page may show of them, never the keys."""

import base64
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask_babel import gettext as _

MAX_PEM_CHARS = 20_000
MAX_KEY_FILE_CHARS = 20_000
SERVICE_ACCOUNT_FIELDS = ("client_email", "client_id", "private_key_id", "private_key", "token_uri")


class CredentialProblem(ValueError):
    """Material that cannot be used, with a message for the administrator (never quoting the key)."""


@dataclass(frozen=True)
class Certificate:
    """A certificate and its private key, as the client assertion needs them."""

    private_key_pem: str = field(repr=False)  # never in a traceback's locals
    subject: str
    thumbprint_sha1: str  # hex, as Azure lists it under Certificates & secrets
    x5t_s256: str  # base64url SHA-256 of the DER certificate: the assertion's x5t#S256 header
    not_before: datetime
    not_after: datetime


@dataclass(frozen=True)
class ServiceAccountKey:
    """A Google service account's key file: who it is and where its assertions go."""

    client_email: str
    client_id: str
    private_key_id: str
    private_key_pem: str = field(repr=False)
    token_uri: str
    project_id: str


def read_certificate(pem: str) -> Certificate:
    """A PEM holding an unencrypted RSA private key and the certificate uploaded to the app registration."""
    if not pem or len(pem) > MAX_PEM_CHARS:
        raise CredentialProblem(_("Paste the PEM text: the private key and the certificate, one after the other."))
    data = pem.encode()
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise CredentialProblem(_("The private key is protected by a password: export it without one "
                                  "(openssl pkey -in key.pem -out plain.pem).")) from None
    except ValueError:
        raise CredentialProblem(_("No private key was found in the PEM text: paste the private key (BEGIN PRIVATE "
                                  "KEY) and the certificate (BEGIN CERTIFICATE).")) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CredentialProblem(_("The private key must be an RSA key: Microsoft accepts client assertions signed with "
                                  "RSA only."))
    try:
        certificate = x509.load_pem_x509_certificate(data)
    except ValueError:
        raise CredentialProblem(_("No certificate was found in the PEM text: add the certificate (BEGIN "
                                  "CERTIFICATE) uploaded to the app registration.")) from None
    if certificate.public_key().public_numbers() != key.public_key().public_numbers():
        raise CredentialProblem(_("The certificate and the private key do not belong together."))
    der = certificate.public_bytes(serialization.Encoding.DER)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return Certificate(
        private_key_pem=key_pem,
        subject=certificate.subject.rfc4514_string(),
        thumbprint_sha1=certificate.fingerprint(hashes.SHA1()).hex().upper(),  # noqa: S303 - Azure's thumbprint
        x5t_s256=base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode(),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
    )


def read_service_account_key(text: str) -> ServiceAccountKey:
    """The JSON key file Google gives for a service account (IAM > Service accounts > Keys > Add key)."""
    if not text or len(text) > MAX_KEY_FILE_CHARS:
        raise CredentialProblem(_("Choose the service account's JSON key file."))
    try:
        fields = json.loads(text)
    except ValueError:
        raise CredentialProblem(_("This file is not JSON: choose the key file Google downloaded when the key was "
                                  "created (Keys > Add key > JSON).")) from None
    if not isinstance(fields, dict) or fields.get("type") != "service_account":
        raise CredentialProblem(_("This JSON file is not a service account key (its type is not "
                                  "\"service_account\")."))
    missing = [name for name in SERVICE_ACCOUNT_FIELDS if not isinstance(fields.get(name), str) or not fields[name]]
    if missing:
        raise CredentialProblem(_("The key file lacks %(fields)s: download a new JSON key.",
                                  fields=", ".join(missing)))
    try:
        key = serialization.load_pem_private_key(fields["private_key"].encode(), password=None)
    except (TypeError, ValueError):
        raise CredentialProblem(_("The key file's private key cannot be read: download a new JSON key.")) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CredentialProblem(_("The key file's private key is not an RSA key: download a new JSON key."))
    return ServiceAccountKey(
        client_email=fields["client_email"],
        client_id=fields["client_id"],
        private_key_id=fields["private_key_id"],
        private_key_pem=fields["private_key"],
        token_uri=fields["token_uri"],
        project_id=str(fields.get("project_id") or ""),
    )
