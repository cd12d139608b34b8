"""The value types of a data model table (each with a `kind` both engines switch on), the
constants of access and type checks, and how LMS-supplied values are written (mirrored in
scorm-api.js)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

RO, RW, WO = "ro", "rw", "wo"
KEYWORDS = ("_children", "_count", "_version")

# Results of a type check; the table's codes turn them into the standard's error numbers.
CHECK_OK, CHECK_TYPE, CHECK_RANGE = 0, 1, 2
MAX_INDEX_DIGITS = 9  # longer index strings are "huge", never a valid position

# Value types. Each has a `kind` that both engines switch on.


@dataclass(frozen=True)
class Vocab:
    """One of a fixed list of strings (case-sensitive)."""

    values: tuple[str, ...]
    kind: str = "vocab"


@dataclass(frozen=True)
class Text:
    """Any string of at most `max` code points."""

    max: int
    kind: str = "text"


@dataclass(frozen=True)
class Pattern:
    """A string of at most `max` code points that matches `pattern` entirely."""

    pattern: str
    max: int = 4000
    kind: str = "pattern"


@dataclass(frozen=True)
class Number:
    """A decimal matching `pattern`; outside [min, max] is the range error; '' only if `blank`."""

    pattern: str
    min: float | None = None
    max: float | None = None
    blank: bool = False
    kind: str = "number"


@dataclass(frozen=True)
class Timestamp:
    """An ISO 8601 date-time matching `pattern`, whose groups 1-3 are year, month and day."""

    pattern: str
    kind: str = "timestamp"


@dataclass(frozen=True)
class Language:
    """An RFC 3066 language tag of at most `max` code points, subtags of 1-8 letters or digits:
    a primary code from `codes` (any case), or `i`/`x` with subtags, whose first subtag, when
    it has two letters, is in `regions` (any case); '' only if `blank`."""

    codes: tuple[str, ...]
    regions: tuple[str, ...]
    blank: bool = False
    max: int = 250
    kind: str = "language"


@dataclass(frozen=True)
class Localized:
    """An optional `{lang=<tag>}` (tag checked by type `lang`) and at most `max` code points."""

    lang: str
    max: int
    kind: str = "localized"


@dataclass(frozen=True)
class ListOf:
    """Items of type `item` joined by `sep`; '' is the empty list, allowed only if `empty`."""

    item: str
    sep: str = "[,]"
    unique: bool = False
    empty: bool = False
    max: int = 4000
    kind: str = "list"


@dataclass(frozen=True)
class Pair:
    """`left<sep>right` with exactly one separator; never both sides empty."""

    left: str
    right: str
    sep: str = "[.]"
    left_empty: bool = False
    right_empty: bool = False
    kind: str = "pair"


@dataclass(frozen=True)
class Range:
    """`min<sep>max`, either side optional, each of type `item`, min <= max.

    Without the separator the value is checked by `fallback`, or refused if there is none.
    """

    item: str
    sep: str = "[:]"
    fallback: str | None = None
    kind: str = "range"


@dataclass(frozen=True)
class Flags:
    """Leading `{name=true|false}` delimiters (each of `flags` at most once), then type `then`."""

    flags: tuple[str, ...]
    then: str
    kind: str = "flags"


@dataclass(frozen=True)
class OneOf:
    """Valid if any of the named types accepts the value."""

    options: tuple[str, ...]
    kind: str = "oneof"


@dataclass(frozen=True)
class Response:
    """The type named in `cases` for the current value of element `by` (an interaction type)."""

    by: str
    cases: dict[str, str]
    kind: str = "response"


TypeSpec = (
    Vocab
    | Text
    | Pattern
    | Number
    | Timestamp
    | Language
    | Localized
    | ListOf
    | Pair
    | Range
    | Flags
    | OneOf
    | Response
)

# Rendering LMS-supplied values (mirrored in scorm-api.js).


def _centiseconds(seconds: float) -> int:
    return max(0, math.floor(seconds * 100 + 0.5))


def render_timespan(seconds: float) -> str:
    """Seconds as a SCORM 1.2 CMITimespan, HHHH:MM:SS.SS (capped at 9999 hours)."""
    cs = min(_centiseconds(seconds), 9999 * 360000 + 359999)
    h, rest = divmod(cs, 360000)
    m, rest = divmod(rest, 6000)
    s, c = divmod(rest, 100)
    return f"{h:04d}:{m:02d}:{s:02d}.{c:02d}"


def render_duration(seconds: float) -> str:
    """Seconds as an ISO 8601 duration in the style of SCORM 2004's default, PT0H0M0S."""
    cs = _centiseconds(seconds)
    h, rest = divmod(cs, 360000)
    m, rest = divmod(rest, 6000)
    s, c = divmod(rest, 100)
    frac = f".{c:02d}".rstrip("0") if c else ""
    return f"PT{h}H{m}M{s}{frac}S"


def render_number(value: float) -> str:
    """A number the way JavaScript's String() writes it for the values we meet (80, 0.8)."""
    value = float(value)
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return repr(value)


TIMESPAN = re.compile(r"([0-9]{1,4}):([0-9]{2}):([0-9]{2}(?:\.[0-9]{1,2})?)")
DURATION = re.compile(
    r"P(?:([0-9]+)Y)?(?:([0-9]+)M)?(?:([0-9]+)D)?"
    r"(?:T(?:([0-9]+)H)?(?:([0-9]+)M)?(?:([0-9]+(?:\.[0-9]+)?)S)?)?"
)
# ADL SampleRTE DurationValidator.numSec: a year is 365 days, a month 2,628,029 s.
DURATION_UNITS = (31536000, 2628029, 86400, 3600, 60, 1)


def days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31
