"""Normalisation and validation of what people type: names, usernames, phones, emails."""

from __future__ import annotations

import re
import unicodedata

from email_validator import EmailNotValidError, validate_email

from lms.services.errors import N_, DomainError

MAX_FULL_NAME = 120
MAX_UNIT_NAME = 200
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
UNIT_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
# Vietnamese mobile and landline numbers after normalisation to the national form:
# mobiles 0[35789]x xxx xxxx (10 digits), landlines 02xx xxx xxxx (11 digits).
PHONE_RE = re.compile(r"^0(?:[35789]\d{8}|2\d{9})$")


def nfc(text: str) -> str:
    """Unicode NFC, so that 'ễ' typed on any keyboard is stored one way."""
    return unicodedata.normalize("NFC", text)


def clean_text(text: str | None) -> str:
    """NFC, trimmed, inner runs of white space folded to one space, controls removed."""
    if text is None:
        return ""
    text = "".join(ch for ch in nfc(text) if unicodedata.category(ch) != "Cc" or ch in "\t\n")
    return " ".join(text.split())


def clean_full_name(raw: str | None, field: str = "full_name") -> str:
    """A person's full name, required, at most MAX_FULL_NAME characters."""
    name = clean_text(raw)
    if not name:
        raise DomainError(N_("Enter the full name."), field=field)
    if len(name) > MAX_FULL_NAME:
        raise DomainError(
            N_("The full name is too long (at most %(max)d characters)."),
            field=field,
            max=MAX_FULL_NAME,
        )
    return name


def clean_unit_name(raw: str | None) -> str:
    """A unit's name, required, at most MAX_UNIT_NAME characters."""
    name = clean_text(raw)
    if not name:
        raise DomainError(N_("Enter the unit name."), field="name")
    if len(name) > MAX_UNIT_NAME:
        raise DomainError(
            N_("The unit name is too long (at most %(max)d characters)."),
            field="name",
            max=MAX_UNIT_NAME,
        )
    return name


def clean_unit_code(raw: str | None) -> str:
    """A unit's short code: letters without diacritics, digits, dot, dash, underscore."""
    code = clean_text(raw).upper()
    if not code:
        raise DomainError(N_("Enter the unit code."), field="code")
    if not UNIT_CODE_RE.match(code):
        raise DomainError(
            N_(
                "The unit code may contain only letters without diacritics, digits, '.', '-' "
                "and '_' (at most 40 characters)."
            ),
            field="code",
        )
    return code


def clean_username(raw: str | None) -> str:
    """A username: lower case, 3-64 characters, letters without diacritics, digits, . _ -."""
    username = clean_text(raw).lower()
    if not username:
        raise DomainError(N_("Enter a username."), field="username")
    if not USERNAME_RE.match(username):
        raise DomainError(
            N_(
                "A username has 3 to 64 characters: letters without diacritics, digits, '.', "
                "'_' or '-', starting with a letter or digit."
            ),
            field="username",
        )
    return username


def clean_phone(raw: str | None) -> str | None:
    """A Vietnamese phone number in national form (0912345678), or None when empty."""
    text = clean_text(raw)
    if not text:
        return None
    digits = re.sub(r"[\s.()-]", "", text)
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    if not PHONE_RE.match(digits):
        raise DomainError(
            N_("%(value)s is not a Vietnamese phone number (for example 0912 345 678)."),
            field="phone",
            value=text,
        )
    return digits


def clean_email(raw: str | None) -> str | None:
    """An email address, normalised, or None when empty."""
    text = clean_text(raw)
    if not text:
        return None
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        raise DomainError(
            N_("%(value)s is not a valid email address."), field="email", value=text
        ) from None


# --- Vietnamese ordering and searching -----------------------------------------------------

# The Vietnamese alphabet, then the Latin letters it lacks, each with a two-digit rank. Keys
# are made of digits only, so that they sort the same under every database collation.
_ALPHABET = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
_RANK = {ch: f"{i + 11:02d}" for i, ch in enumerate(_ALPHABET)}
_RANK.update({str(d): f"{d + 1:02d}" for d in range(10)})
# Dictionary order of the tones: ngang, huyền, hỏi, ngã, sắc, nặng.
_TONES = {"\u0300": "1", "\u0309": "2", "\u0303": "3", "\u0301": "4", "\u0323": "5"}
_SHAPES = {
    ("a", "\u0306"): "ă",
    ("a", "\u0302"): "â",
    ("e", "\u0302"): "ê",
    ("o", "\u0302"): "ô",
    ("o", "\u031b"): "ơ",
    ("u", "\u031b"): "ư",
}


def _letters(word: str) -> list[tuple[str, str]]:
    """(letter of the alphabet, tone digit) for each letter of a word."""
    out: list[tuple[str, str]] = []
    for ch in unicodedata.normalize("NFD", word.lower()):
        if unicodedata.combining(ch):
            if not out:
                continue
            letter, tone = out[-1]
            if ch in _TONES:
                out[-1] = (letter, _TONES[ch])
            else:
                out[-1] = (_SHAPES.get((letter, ch), letter), tone)
        elif ch in _RANK:
            out.append((ch, "0"))
    return out


def sort_key(full_name: str) -> str:
    """A key that orders names as Vietnamese lists do: by given name (the last word), then the
    whole name, letters in Vietnamese alphabet order (d < đ < e), tones last."""
    words = [_letters(w) for w in full_name.split()]
    words = [w for w in words if w]
    if not words:
        return ""
    ordered = [words[-1], *words]
    primary = "00".join("".join(_RANK[letter] for letter, _ in w) for w in ordered)
    tones = "".join(tone for w in ordered for _, tone in w)
    return f"{primary}000{tones}"[:400]


def fold(text: str | None) -> str:
    """Lower case without diacritics ('Đỗ Thị Ánh' -> 'do thi anh'), for searching."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    return " ".join("".join(ch for ch in decomposed if not unicodedata.combining(ch)).split())
