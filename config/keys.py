"""The keys that seal personal data at rest, and the key of its look-up hashes.

Production names them in ``DATA_KEYS`` (Fernet keys, newest first: the newest encrypts, every
one decrypts, so a new key goes in front and the old one stays until ``icpflow keys rotate``
has re-encrypted everything) and ``LOOKUP_KEY``. Development needs neither: the first process
to want them writes a pair to ``var_dir`` and every later process on that directory (web,
worker, scheduler, CLI) reads the same pair, so ``make run`` works on a fresh clone.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import structlog
from cryptography.fernet import Fernet

from config.settings import Environment, Settings

DEVELOPMENT_KEYS_FILE = "personal-data-keys.json"


class MissingKeys(RuntimeError):
    """Production without ``DATA_KEYS`` or ``LOOKUP_KEY``: personal data cannot be stored."""


class KeysDoNotOpen(RuntimeError):
    """Personal data sealed under keys this install does not hold (a database restored from
    another install without its keys, a key retired too soon): it cannot be read."""


@dataclass(frozen=True)
class Keys:
    data: tuple[str, ...]  # Fernet keys, newest first
    lookup: str


def keys_of(settings: Settings) -> Keys:
    return _keys(settings.environment, settings.var_dir, settings.data_keys, settings.lookup_key)


def split_keys(data_keys: str) -> tuple[str, ...]:
    return tuple(key.strip() for key in data_keys.split(",") if key.strip())


@lru_cache(maxsize=8)
def _keys(environment: Environment, var_dir: Path, data_keys: str, lookup_key: str) -> Keys:
    if data_keys and lookup_key:
        return Keys(split_keys(data_keys), lookup_key)
    if environment is Environment.PRODUCTION:
        raise MissingKeys("DATA_KEYS and LOOKUP_KEY must both be set with ICPFLOW_ENV=production")
    stored = _development_keys(var_dir)
    return Keys(split_keys(data_keys) or stored.data, lookup_key or stored.lookup)


def _development_keys(var_dir: Path) -> Keys:
    """The pair under ``var_dir``, written on first use. Linking a complete file into place
    lets exactly one of several writers starting together (processes, or a web process's first
    requests on their threads) write it; the others read that one. Each writer drafts in a file
    of its own (``mkstemp``: a unique name, readable by the owner only)."""
    path = var_dir / DEVELOPMENT_KEYS_FILE
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=f".{DEVELOPMENT_KEYS_FILE}.", dir=var_dir)
        draft = Path(name)
        with os.fdopen(handle, "w") as out:
            json.dump(
                {"data_keys": Fernet.generate_key().decode(), "lookup_key": secrets.token_hex(32)},
                out,
            )
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        else:
            structlog.get_logger(__name__).warning(
                "generated development keys for personal data",
                path=str(path),
                hint="set DATA_KEYS and LOOKUP_KEY to keys of your own in production",
            )
        finally:
            draft.unlink()
    stored = json.loads(path.read_text())
    return Keys(split_keys(stored["data_keys"]), stored["lookup_key"])
