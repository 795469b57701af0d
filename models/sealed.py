"""Identity and phone numbers encrypted at rest, and keyed hashes to find them by.

A ``Sealed`` column encrypts on the way in and decrypts on the way out, so code reads and
writes plain strings; the database file, its backups and its replicas hold Fernet tokens
(AES-128-CBC with an HMAC). Encryption is randomised, so a sealed column cannot be compared
in SQL: each value that is looked up or compared has a ``*_hash`` column beside it holding
``lookup(value)``, an HMAC-SHA256 under the separate ``LOOKUP_KEY``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import String, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from config.keys import Keys, KeysDoNotOpen, keys_of
from config.settings import get_settings


def cipher() -> MultiFernet:
    """Every configured data key, the newest first (it encrypts; any of them decrypts)."""
    return _cipher(keys_of(get_settings()))


def newest() -> Fernet:
    """The key that encrypts: a token it can open needs no rotation."""
    return _newest(keys_of(get_settings()))


def lookup(value: str) -> str:
    """The keyed hash a sealed value is found by; case and surrounding spaces aside, as an
    identity number's check letter is written either way."""
    return keyed_digest(value.strip().upper())


def keyed_digest(text: str) -> str:
    """An HMAC of ``text`` under ``LOOKUP_KEY``: equal texts give equal digests, and the
    database alone cannot tell which text (an identity number, say) gave one."""
    key = keys_of(get_settings()).lookup.encode()
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


@lru_cache(maxsize=8)
def _cipher(keys: Keys) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys.data])


@lru_cache(maxsize=8)
def _newest(keys: Keys) -> Fernet:
    return Fernet(keys.data[0])


def opened(token: str) -> str:
    """The plain text of a stored token.

    Opening a token (HMAC check and AES) costs more than the rest of loading a filing, and a
    busy filing is loaded on every event and page view, so recent tokens are remembered. The
    key set is part of what is remembered: a token stops opening the moment its key is retired,
    as without the cache. Tokens are random per write, so a value that changed, was rotated or
    was purged is a token nobody asks for again and ages out.
    """
    return _opened(keys_of(get_settings()), token)


@lru_cache(maxsize=4096)
def _opened(keys: Keys, token: str) -> str:
    try:
        return _cipher(keys).decrypt(token.encode("ascii")).decode()
    except InvalidToken:
        raise KeysDoNotOpen(_NOT_OPENED) from None


_NOT_OPENED = (
    "personal data is sealed under a key DATA_KEYS does not hold: set DATA_KEYS and LOOKUP_KEY "
    "to the keys it was written with"
)


def rotated(token: str) -> str:
    """``token`` sealed again under the newest key (``icpflow keys rotate``)."""
    try:
        return cipher().rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken:
        raise KeysDoNotOpen(_NOT_OPENED) from None


# One sealed identity number and its look-up hash: enough to tell whether the keys in use open
# what is stored (a backup restored, a process started with another install's keys).
# The look-up hash of an identity number purged (blank), with the row's id after it: it finds
# nothing, and is no sample of the keys.
UNFINDABLE = "purged:"
STORED_SAMPLE = (  # no LIKE: its % is a placeholder to a driver's own statements
    "SELECT id_number, id_number_hash FROM entities"
    f" WHERE substr(id_number_hash, 1, {len(UNFINDABLE)}) <> '{UNFINDABLE}' LIMIT 1"
)


def check_keys_open(token: str, digest: str) -> None:
    """That this install's keys open a value sealed elsewhere (a backup's) and make the same
    look-up hash of it: ``KeysDoNotOpen`` naming the key that differs, if not."""
    if lookup(opened(token)) != digest:
        raise KeysDoNotOpen(
            "LOOKUP_KEY is not the key the stored look-up hashes were made with: set it to "
            "that key, or nothing stored will be found by identity or mobile"
        )


class Sealed(TypeDecorator[str]):
    """A string stored encrypted, in a column sized for its token (``bounds.sealed``)."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else cipher().encrypt(value.encode()).decode("ascii")

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else opened(value)


class SealedJSON(TypeDecorator[Any]):
    """A JSON value stored encrypted (a change order's new responsible persons)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        plain = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        return cipher().encrypt(plain.encode()).decode("ascii")

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(opened(value))
