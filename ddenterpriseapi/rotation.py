"""Key rotation: re-encrypt every secret at rest under a new key while the console keeps running."""

from cryptography.fernet import Fernet
from flask_babel import gettext as _
from sqlalchemy import text

from .console_error import ConsoleError
from .crypto import EncryptedBytes, Vault, read_keys, write_keys
from .extensions import db


class RotationError(ConsoleError):
    """Rotation cannot proceed; the message says what to do instead."""


def encrypted_columns() -> list[tuple[str, str, str]]:
    """(table, primary key column, encrypted column) for every secret the models keep."""
    found = []
    for mapper in db.Model.registry.mappers:
        table = mapper.local_table
        (primary_key,) = table.primary_key.columns
        found += [(table.name, primary_key.name, column.name)
                  for column in table.columns if isinstance(column.type, EncryptedBytes)]
    return sorted(found)


def reencrypt_all(vault: Vault) -> int:
    """Re-encrypt every stored secret under the vault's first key, in one transaction; how many."""
    count = 0
    db.session.rollback()
    db.session.connection(execution_options={"sqlite_immediate": True})
    for table, key, column in encrypted_columns():
        rows = db.session.execute(text(f"SELECT {key}, {column} FROM {table} WHERE {column} IS NOT NULL"))
        for ident, ciphertext in rows.all():
            db.session.execute(text(f"UPDATE {table} SET {column} = :value WHERE {key} = :ident"),
                               {"value": vault.rotate(ciphertext), "ident": ident})
            count += 1
    db.session.commit()
    return count


def rotate_key_file(vault: Vault) -> int:
    """Put a new key first in the key file, re-encrypt everything, then drop the keys before the previous one."""
    if vault.key_file is None:
        raise RotationError(_(
            "The keys come from the ENCRYPTION_KEYS setting: put a new key (Fernet.generate_key()) first in it on "
            "every instance, keep the old one after it, restart, then run rotate-key --reencrypt."))
    previous = read_keys(vault.key_file)
    new = Fernet.generate_key().decode()
    write_keys(vault.key_file, [new, *previous])  # every process can still open everything, old and new
    vault.reload()
    count = reencrypt_all(vault)
    write_keys(vault.key_file, [new, previous[0]])  # the previous key stays for writes made in the meantime
    vault.reload()
    return count
