"""Passwords: the rules a chosen one must meet, memory-hard hashes (scrypt), the fast keyed
hash of generated initial passwords, and generating readable ones."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from werkzeug.security import check_password_hash, generate_password_hash

from lms.services.errors import N_, DomainError

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128
# Initial passwords are typed by people from a printed sheet: no 0/O, 1/l/I.
_PASSWORD_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # noqa: S105


# werkzeug's scrypt: N=2**15, r=8, p=1, i.e. 32 MiB of memory per hash. Tests lower it.
PASSWORD_METHOD = "scrypt"  # noqa: S105


def hash_password(password: str) -> str:
    """A memory-hard (scrypt) hash of a password."""
    return generate_password_hash(password, method=PASSWORD_METHOD)


_dummy_hashes: dict[str, str] = {}


def dummy_hash() -> str:
    """A hash to check against when the username does not exist, made with the same method
    as real ones, so that a wrong username takes as long as a wrong password."""
    if PASSWORD_METHOD not in _dummy_hashes:
        _dummy_hashes[PASSWORD_METHOD] = hash_password(secrets.token_hex(8))
    return _dummy_hashes[PASSWORD_METHOD]


INITIAL_PREFIX = "hmac-sha256:"


def initial_password_key(secret_key: str) -> bytes:
    """The server-side key of initial passwords, derived from the site's secret key."""
    return hashlib.sha256(b"hocvu initial passwords\0" + secret_key.encode()).digest()


def hash_initial_password(password: str, key: bytes) -> str:
    """A keyed hash for a generated initial password (HMAC-SHA256).

    Initial passwords are random with at least 60 bits of entropy, so a fast keyed hash is as
    safe as a slow one, and it makes importing 36,000 accounts take seconds instead of
    half an hour. They work until the first login, when the learner chooses a password
    (stored with scrypt).
    """
    digest = hmac.new(key, password.encode(), hashlib.sha256).hexdigest()
    return f"{INITIAL_PREFIX}{digest}"


def password_matches(stored: str, password: str, initial_key: bytes | None) -> bool:
    """Check a password against its stored hash, whichever kind it is."""
    if stored.startswith(INITIAL_PREFIX):
        if initial_key is None:
            return False
        return hmac.compare_digest(stored, hash_initial_password(password, initial_key))
    try:
        return check_password_hash(stored, password)
    except ValueError:
        return False


def generate_initial_password(length: int = 12) -> str:
    """12 characters of 56 readable ones: about 70 bits, and nothing to misread aloud."""
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(length))


def generate_password(length: int = 10) -> str:
    """A random initial password that is easy to read and type."""
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(length))


def check_new_password(password: str, *, username: str = "") -> None:
    """Refuse passwords that are too short, too long or the same as the username."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(
            N_("The password must have at least %(min)d characters."),
            field="new_password",
            min=MIN_PASSWORD_LENGTH,
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise DomainError(
            N_("The password must have at most %(max)d characters."),
            field="new_password",
            max=MAX_PASSWORD_LENGTH,
        )
    if username and password.casefold() == username.casefold():
        raise DomainError(
            N_("The password must not be the same as the username."), field="new_password"
        )
