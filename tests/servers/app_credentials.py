"""Credential material for app-only sign-in tests: a self-signed application certificate with its RSA key (what an
administrator uploads to an Entra app registration), and a Google service account JSON key file."""

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class AppCertificate:
    """An application's certificate: the PEM the console is given (key then certificate) and the public side the
    authorization server is told about."""

    pem: str  # private key and certificate, as pasted on the OAuth page
    certificate_pem: str  # the certificate alone, as uploaded to the app registration
    not_after: datetime


@dataclass(frozen=True)
class ServiceAccount:
    """A service account's key file and the public key the authorization server checks assertions with."""

    key_file: str  # the JSON text
    client_email: str
    client_id: str
    private_key_id: str
    public_key_pem: str


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def app_certificate(name: str = "ddenterpriseapi test app", days: int = 365, key=None) -> AppCertificate:
    """A self-signed certificate valid from yesterday for `days` days, as Azure accepts for an app registration."""
    key = key or rsa_key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    certificate = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
                   .not_valid_after(now + timedelta(days=days)).sign(key, hashes.SHA256()))
    certificate_pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    return AppCertificate(private_pem(key) + certificate_pem, certificate_pem, certificate.not_valid_after_utc)


def service_account(token_uri: str, client_email: str = "mailer@reports-project.iam.gserviceaccount.com",
                    project_id: str = "reports-project") -> ServiceAccount:
    """A key file shaped like Google's (IAM > Service accounts > Keys > Add key > JSON)."""
    key = rsa_key()
    client_id = str(secrets.randbelow(10**21))
    private_key_id = secrets.token_hex(20)
    fields = {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": private_key_id,
        "private_key": private_pem(key),
        "client_email": client_email,
        "client_id": client_id,
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": f"https://www.googleapis.com/robot/v1/metadata/x509/{client_email}",
        "universe_domain": "googleapis.com",
    }
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return ServiceAccount(json.dumps(fields, indent=2), client_email, client_id, private_key_id, public_pem)
