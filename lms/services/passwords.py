"""Passwords: the rules a chosen one must meet, memory-hard hashes (Argon2id), the fast keyed
hash of generated initial passwords, and generating readable ones.

Chosen passwords are hashed with Argon2id at the OWASP Password Storage Cheat Sheet's first
recommendation (m = 19 MiB, t = 2, p = 1). Until 2026-12 they were werkzeug scrypt hashes
(N = 2**15, r = 8, p = 1: a third above the memory, five times the CPU here, and below the
cheat sheet's N = 2**17 for scrypt); those still verify, and a successful login stores the
password again as Argon2id (`needs_rehash`)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from werkzeug.security import check_password_hash

from lms.services.errors import N_, DomainError

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128
# Initial passwords are typed by people from a printed sheet: no 0/O, 1/l/I.
_PASSWORD_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # noqa: S105


# Argon2id's cost: memory in KiB, passes, lanes. Tests lower it (tests/conftest.py).
PASSWORD_PARAMS = {"memory_cost": 19 * 1024, "time_cost": 2, "parallelism": 1}
ARGON2_PREFIX = "$argon2id$"
_hashers: dict[tuple[int, ...], PasswordHasher] = {}


def _hasher() -> PasswordHasher:
    key = tuple(PASSWORD_PARAMS.values())
    if key not in _hashers:
        _hashers[key] = PasswordHasher(**PASSWORD_PARAMS)
    return _hashers[key]


def hash_password(password: str) -> str:
    """A memory-hard (Argon2id) hash of a password."""
    return _hasher().hash(password)


def memory_hard_check(stored: str, password: str) -> bool:
    """Whether `password` gives the memory-hard hash `stored`: Argon2id, or a werkzeug hash
    stored before (scrypt)."""
    if stored.startswith("$argon2"):
        try:
            return _hasher().verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False
    try:
        return check_password_hash(stored, password)
    except ValueError:
        return False


def needs_rehash(stored: str) -> bool:
    """Whether a chosen password's hash is of an older kind or cost than hash_password makes
    (stored again at the next login, when the password is known)."""
    if stored.startswith(INITIAL_PREFIX):
        return False  # replaced when the learner chooses a password
    if not stored.startswith(ARGON2_PREFIX):
        return True
    try:
        return _hasher().check_needs_rehash(stored)
    except InvalidHashError:
        return True


_dummy_hashes: dict[tuple[int, ...], str] = {}


def dummy_check(password: str) -> None:
    """Check `password` against a hash of the same kind and cost as real ones, when the
    username does not exist or holds a fast keyed hash: such a refusal takes as long as a
    wrong password."""
    key = tuple(PASSWORD_PARAMS.values())
    if key not in _dummy_hashes:
        _dummy_hashes[key] = hash_password(secrets.token_hex(8))
    memory_hard_check(_dummy_hashes[key], password)


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
    return memory_hard_check(stored, password)


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
