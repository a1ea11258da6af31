"""Encryption of secrets at rest (client secret, tokens, SMTP password) with rotatable Fernet keys."""

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask_babel import gettext as _
from sqlalchemy import Text
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeDecorator

from .console_error import ConsoleError


class Vault:
    """Encrypts with the first key and decrypts with any, so keys can be rotated without downtime.

    With a key file, a secret that no known key opens makes the vault re-read the file: a running
    console picks up keys that `flask rotate-key` added.
    """

    def __init__(self, keys: list[str], key_file: Path | None = None):
        self.key_file = key_file
        self._use(keys)

    def _use(self, keys: list[str]) -> None:
        self.keys = list(keys)
        self._fernet = MultiFernet([Fernet(key) for key in self.keys])

    def encrypt(self, plaintext: str) -> str:
        return self.encrypt_bytes(plaintext.encode())

    def decrypt(self, ciphertext: str) -> str:
        return self.decrypt_bytes(ciphertext).decode()

    def encrypt_bytes(self, plaintext: bytes) -> str:
        return self._fernet.encrypt(plaintext).decode()

    def decrypt_bytes(self, ciphertext: str) -> bytes:
        try:
            return self._fernet.decrypt(ciphertext.encode())
        except InvalidToken:
            if not self.reload():
                raise
            return self._fernet.decrypt(ciphertext.encode())

    def reload(self) -> bool:
        """Take up the key file's keys if they changed; whether they did."""
        if self.key_file is None:
            return False
        keys = read_keys(self.key_file)
        if keys == self.keys:
            return False
        self._use(keys)
        return True

    def rotate(self, ciphertext: str) -> str:
        """Re-encrypt under the first key."""
        return self._fernet.rotate(ciphertext.encode()).decode()


def write_private_file(path: Path, content: str) -> bool:
    """Create a file readable by its owner only; False if it already exists."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as handle:
        handle.write(content)
    return True


def read_keys(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def write_keys(path: Path, keys: list[str]) -> None:
    """Replace the key file atomically, readable by its owner only."""
    temporary = path.with_name(path.name + ".new")
    temporary.unlink(missing_ok=True)
    write_private_file(temporary, "".join(key + "\n" for key in keys))
    os.replace(temporary, path)


def instance_keys(path: Path) -> list[str]:
    """The encryption keys kept in the instance folder, generated on first start."""
    write_private_file(path, Fernet.generate_key().decode() + "\n")
    return read_keys(path)


def bind_vault(engine: Engine, vault: Vault) -> None:
    """Encrypted columns on this engine (one per app) read and write through this vault."""
    engine.dialect.vault = vault


class SecretUnreadable(ConsoleError):
    """A stored secret that none of the configured keys opens: the key it was encrypted with is missing, which
    only the operator can fix (it must not pass for "not configured")."""

    api_status = 500

    def __init__(self, vault: Vault):
        source = str(vault.key_file) if vault.key_file else "ENCRYPTION_KEYS"
        super().__init__(_(
            "A stored secret cannot be decrypted: none of the %(count)s keys in %(source)s opens it. The key it was "
            "encrypted with is missing: put the previous key back after the first one (from a backup of the "
            "instance folder), or enter the secrets again.", count=len(vault.keys), source=source))


class EncryptedBytes(TypeDecorator):
    """A column of bytes stored encrypted (a Fernet token, as text); reads and writes plaintext bytes."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else dialect.vault.encrypt_bytes(self.to_bytes(value))

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        vault = dialect.vault
        try:
            return self.from_bytes(vault.decrypt_bytes(value))
        except InvalidToken:
            raise SecretUnreadable(vault) from None

    def to_bytes(self, value) -> bytes:
        return value

    def from_bytes(self, value: bytes):
        return value


class EncryptedText(EncryptedBytes):
    """A text column stored encrypted; reads and writes plaintext."""

    cache_ok = True

    def to_bytes(self, value: str) -> bytes:
        return value.encode()

    def from_bytes(self, value: bytes) -> str:
        return value.decode()
