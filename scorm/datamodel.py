"""The SCORM run-time data model engine: a table per standard, run here and in the browser.

`cmi12.py` and `cmi2004.py` describe their data model as data (the frozen dataclasses below). The
`Model` built from such a table validates GetValue/SetValue with the exact error codes of its
standard; `Model.table()` is the same table as JSON, which `lms/static/js/scorm-api.js` interprets
in the browser, so the SCO's API and the server's re-validation of every commit apply one set of
rules. A shared corpus of call sequences (`tests/scorm/cases/`) runs through both engines.

The JSON table (`Model.table()`, built once; do not mutate it) has: `version`; `clock` and
`clock_type` (how total_time is rendered, which type session_time has); `errors` {code: text};
`codes` {condition: code} (the `Codes` fields); `types` {name: {kind, ...}} (the type classes
below, `kind` naming the class); `elements` [Element fields] with `n` standing for an index;
`arrays` [Array fields]; `children` {container: `_children` list}; `keyword_next_record`.

Regular expressions in a table use a subset that Python `re` and JavaScript `RegExp` (with the `u`
flag) read the same way. Patterns are implicitly anchored (Python `fullmatch`, JS `^(?:...)$`) and
may use: literal characters; a backslash only before one of `\\ ^ $ . * + ? ( ) [ ] { } | /`,
before `-` inside a class, and in `\\uXXXX` (BMP only); classes with ranges and `[^...]`; groups
`(...)`, `(?:...)`; look-aheads `(?=...)`, `(?!...)`; quantifiers `? * + {n} {n,m}`; and `|`.
Not allowed: `.` (the engines disagree on line terminators), `\\d \\w \\s \\b` (Unicode-aware in
Python only), unescaped `] }` outside a class, anchors, flags, named groups, `{,m}`, and `[[`,
`--`, `&&`, `||`, `~~` inside a class.
`tests/scorm/test_cmi2004.py` checks every pattern of both tables against this subset.
Lengths are counted in code points by both engines.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

RO, RW, WO = "ro", "rw", "wo"
KEYWORDS = ("_children", "_count", "_version")

# Results of a type check; the table's codes turn them into the standard's error numbers.
_OK, _TYPE, _RANGE = 0, 1, 2
_MAX_INDEX_DIGITS = 9  # longer index strings are "huge", never a valid position

# ---------------------------------------------------------------------------------------------
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
    Vocab | Text | Pattern | Number | Timestamp | Localized | ListOf | Pair | Range | Flags | OneOf
) | Response

# ---------------------------------------------------------------------------------------------
# Elements, arrays and the table.


@dataclass(frozen=True)
class Evaluate:
    """A status the LMS derives on GetValue: `met` if value(`measure`) >= launch.`launch`."""

    measure: str
    launch: str
    met: str
    unmet: str


@dataclass(frozen=True)
class Element:
    """One leaf of the data model; `n` in the path stands for an array index."""

    path: str
    access: str
    type: str | None = None
    default: str | None = ""
    launch: str | None = None  # a Launch field that supplies the value (when not None)
    render: str = "text"  # how the Launch value becomes a string: text|number|clock
    session: bool = False  # written by the SCO for this session only (the LMS does not carry it)
    requires: str | None = None  # an element of the same record that must be set first
    write_once: bool = False
    unique: bool = False  # no two records of the array may hold the same value
    evaluate: Evaluate | None = None


@dataclass(frozen=True)
class Array:
    """A collection of records, `path.n.*`; `children` is its `_children` list (None: refused)."""

    path: str
    children: str | None
    missing: int  # GetValue error when the index names no record
    max: int = 1000  # our cap: the server never stores more records than this
    fixed: bool = False  # the SCO cannot add records (they come from the LMS)
    limit_by: str | None = None  # per-value record limits, keyed by this element's value
    limits: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Codes:
    """The standard's error number for each condition."""

    initialize_twice: int
    initialize_after: int
    terminate_before: int
    terminate_after: int
    get_before: int
    get_after: int
    set_before: int
    set_after: int
    commit_before: int
    commit_after: int
    argument: int
    commit_failed: int
    get_empty: int
    set_empty: int
    unknown: int
    unknown_leaf: int
    children: int
    count: int
    keyword_set: int
    read_only: int
    write_only: int
    type: int
    range: int
    dependency: int
    not_set: int
    index_gap: int
    unique: int
    too_many: int


@dataclass(frozen=True)
class Table:
    """Everything both engines need to run one standard's data model."""

    version: str
    clock: str  # "timespan" (CMITimespan) or "duration" (ISO 8601)
    clock_type: str  # the type of session_time, which Model.seconds() accepts
    errors: dict[int, str]
    codes: Codes
    types: dict[str, TypeSpec]
    elements: tuple[Element, ...]
    arrays: tuple[Array, ...]
    children: dict[str, str]  # `_children` of containers that are not arrays
    keyword_next_record: bool = False  # 1.2: `_count`/`_children` may name the next record


@dataclass(frozen=True)
class Launch:
    """What the LMS supplies at Initialize."""

    learner_id: str
    learner_name: str
    entry: str
    total_seconds: float = 0.0
    credit: str = "credit"
    mode: str = "normal"
    launch_data: str | None = None
    mastery_score: float | None = None
    max_time_allowed: str | None = None
    time_limit_action: str | None = None
    completion_threshold: float | None = None
    scaled_passing_score: float | None = None
    language: str = ""


@dataclass(frozen=True)
class Outcome:
    """The LMS-facing status of a SCO, for rollup."""

    completion: str  # completed | incomplete | not attempted | unknown
    success: str  # passed | failed | unknown
    score_scaled: float | None  # 0..1
    score_raw: float | None
    session_seconds: float
    exit: str
    location: str
    suspend_data: str


# ---------------------------------------------------------------------------------------------
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


_TIMESPAN = re.compile(r"([0-9]{1,4}):([0-9]{2}):([0-9]{2}(?:\.[0-9]{1,2})?)")
_DURATION = re.compile(
    r"P(?:([0-9]+)Y)?(?:([0-9]+)M)?(?:([0-9]+)D)?"
    r"(?:T(?:([0-9]+)H)?(?:([0-9]+)M)?(?:([0-9]+(?:\.[0-9]+)?)S)?)?"
)
# ADL SampleRTE DurationValidator.numSec: a year is 365 days, a month 2,628,029 s.
_DURATION_UNITS = (31536000, 2628029, 86400, 3600, 60, 1)


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


# ---------------------------------------------------------------------------------------------
# The engine.


def _subst(template: str, indices: Sequence[int]) -> str:
    """`cmi.interactions.n.type` with indices (3,) -> `cmi.interactions.3.type`."""
    out, k = [], 0
    for seg in template.split("."):
        if seg == "n":
            out.append(str(indices[k]))
            k += 1
        else:
            out.append(seg)
    return ".".join(out)


@dataclass(frozen=True)
class _Rule:
    """An Element compiled for fast lookups."""

    element: Element
    depth: int
    check: Check | None
    arrays: tuple[Array, ...]
    requires: str | None  # a str.format template over the indices
    keyword: bool


@dataclass(frozen=True)
class _Parsed:
    key: str  # the path with `n` for every index
    segs: tuple[str, ...]
    positions: tuple[int, ...]  # where the index segments are
    indices: tuple[int, ...]
    canonical: bool  # no index written with a leading zero


def _template(path: str) -> str:
    parts, k = [], 0
    for seg in path.split("."):
        if seg == "n":
            parts.append(f"{{{k}}}")
            k += 1
        else:
            parts.append(seg.replace("{", "{{").replace("}", "}}"))
    return ".".join(parts)


Check = Callable[[str, "Runtime", tuple[int, ...]], int]
Compile = Callable[[str], Check]  # a type name -> its check (for types made of other types)


def _vocab(spec: Vocab, sub: Compile) -> Check:
    values = frozenset(spec.values)
    return lambda v, rt, idx: _OK if v in values else _TYPE


def _text(spec: Text, sub: Compile) -> Check:
    return lambda v, rt, idx: _OK if len(v) <= spec.max else _TYPE


def _pattern(spec: Pattern, sub: Compile) -> Check:
    rx = re.compile(spec.pattern).fullmatch
    return lambda v, rt, idx: _OK if len(v) <= spec.max and rx(v) else _TYPE


def _number(spec: Number, sub: Compile) -> Check:
    rx, lo, hi = re.compile(spec.pattern).fullmatch, spec.min, spec.max

    def check(v: str, rt: Runtime, idx: tuple[int, ...]) -> int:
        if v == "":
            return _OK if spec.blank else _TYPE
        if len(v) > 40 or not rx(v):
            return _TYPE
        if lo is not None or hi is not None:
            x = float(v)
            if (lo is not None and x < lo) or (hi is not None and x > hi):
                return _RANGE
        return _OK

    return check


def _timestamp(spec: Timestamp, sub: Compile) -> Check:
    rx = re.compile(spec.pattern).fullmatch

    def check(v: str, rt: Runtime, idx: tuple[int, ...]) -> int:
        m = rx(v) if len(v) <= 40 else None
        if m is None:
            return _TYPE
        if m[3] and int(m[3]) > _days_in_month(int(m[1]), int(m[2])):
            return _TYPE
        return _OK

    return check


def _localized(spec: Localized, sub: Compile) -> Check:
    lang = sub(spec.lang)

    def check(v: str, rt: Runtime, idx: tuple[int, ...]) -> int:
        text = v
        if v.startswith("{lang="):
            end = v.find("}")
            if end != -1:
                if lang(v[6:end], rt, idx) != _OK:
                    return _TYPE
                text = v[end + 1 :]
        return _OK if len(text) <= spec.max else _TYPE

    return check


def _list(spec: ListOf, sub: Compile) -> Check:
    item = sub(spec.item)

    def check(v: str, rt: Runtime, idx: tuple[int, ...]) -> int:
        if v == "":
            return _OK if spec.empty else _TYPE
        if len(v) > spec.max:
            return _TYPE
        parts = v.split(spec.sep)
        if any(item(part, rt, idx) != _OK for part in parts):
            return _TYPE
        if spec.unique and len(set(parts)) != len(parts):
            return _TYPE
        return _OK

    return check


def _pair(spec: Pair, sub: Compile) -> Check:
    left, right, sep = sub(spec.left), sub(spec.right), spec.sep

    def check(v: str, rt: Runtime, idx: tuple[int, ...]) -> int:
        i = v.find(sep)
        if i == -1:
            return _TYPE
        a, b = v[:i], v[i + len(sep) :]
        if sep in b or (a == "" and b == ""):
            return _TYPE
        if (not spec.left_empty) if a == "" else left(a, rt, idx) != _OK:
            return _TYPE
        if (not spec.right_empty) if b == "" else right(b, rt, idx) != _OK:
            return _TYPE
        return _OK

    return check


def _range(spec: Range, sub: Compile) -> Check:
    item, sep = sub(spec.item), spec.sep
    fallback = sub(spec.fallback) if spec.fallback else None

    def check(v: str, rt: Runtime, idx: tuple[int, ...]) -> int:
        i = v.find(sep)
        if i == -1:
            return _OK if fallback and fallback(v, rt, idx) == _OK else _TYPE
        lo, hi = v[:i], v[i + len(sep) :]
        if sep in hi:
            return _TYPE
        if (lo and item(lo, rt, idx) != _OK) or (hi and item(hi, rt, idx) != _OK):
            return _TYPE
        if lo and hi and float(lo) > float(hi):
            return _TYPE
        return _OK

    return check


def _flags(spec: Flags, sub: Compile) -> Check:
    then = sub(spec.then)

    def check(v: str, rt: Runtime, idx: tuple[int, ...]) -> int:
        rest, seen = v, set()
        while rest.startswith("{"):
            name = next((f for f in spec.flags if rest.startswith("{" + f + "=")), None)
            if name is None:
                break  # not one of ours: the value itself starts with "{"
            end = rest.find("}")
            flag = rest[len(name) + 2 : end] if end != -1 else None
            if name in seen or flag not in ("true", "false"):
                return _TYPE
            seen.add(name)
            rest = rest[end + 1 :]
        return _OK if then(rest, rt, idx) == _OK else _TYPE

    return check


def _oneof(spec: OneOf, sub: Compile) -> Check:
    options = tuple(sub(o) for o in spec.options)
    return lambda v, rt, idx: _OK if any(o(v, rt, idx) == _OK for o in options) else _TYPE


def _response(spec: Response, sub: Compile) -> Check:
    by = _template(spec.by)
    cases = {case: sub(name) for case, name in spec.cases.items()}

    def check(v: str, rt: Runtime, idx: tuple[int, ...]) -> int:
        inner = cases.get(rt._values.get(by.format(*idx), ""))
        return _TYPE if inner is None else inner(v, rt, idx)

    return check


_COMPILERS: dict[type, Callable[[Any, Compile], Check]] = {
    Vocab: _vocab,
    Text: _text,
    Pattern: _pattern,
    Number: _number,
    Timestamp: _timestamp,
    Localized: _localized,
    ListOf: _list,
    Pair: _pair,
    Range: _range,
    Flags: _flags,
    OneOf: _oneof,
    Response: _response,
}


class Model:
    """One standard's data model: builds runtimes and exports its table as JSON."""

    def __init__(self, table: Table) -> None:
        self._table = table
        self.version = table.version
        self.codes = table.codes
        self._errors = {str(code): text for code, text in table.errors.items()}
        self._checks: dict[str, Check] = {}
        for name in table.types:
            self._compile(name)
        self._arrays = {a.path: a for a in table.arrays}
        self._rules: dict[str, _Rule] = {}
        for el in table.elements:
            segs = el.path.split(".")
            arrays = tuple(self._arrays[".".join(segs[:p])] for p, s in enumerate(segs) if s == "n")
            self._rules[el.path] = _Rule(
                element=el,
                depth=len(arrays),
                check=self._checks[el.type] if el.type else None,
                arrays=arrays,
                requires=_template(el.requires) if el.requires else None,
                keyword=segs[-1] in KEYWORDS,
            )
        # Every proper prefix of a known path is a container (for 1.2's 201-versus-401 rule).
        nodes: set[str] = set(self._arrays) | set(table.children)
        for path in list(self._rules) + list(self._arrays):
            segs = path.split(".")
            nodes.update(".".join(segs[:i]) for i in range(1, len(segs)))
        self._nodes = frozenset(nodes)
        self.session_only = frozenset(el.path for el in table.elements if el.session)
        self._parse_cache: dict[str, _Parsed | None] = {}
        self._json: dict[str, Any] | None = None
        self._clock_check = self._checks[table.clock_type]
        self._render_clock = render_timespan if table.clock == "timespan" else render_duration

    # -- the table as JSON ---------------------------------------------------------------------

    def table(self) -> dict[str, Any]:
        """The JSON-serialisable rules for the browser (the data this engine runs on)."""
        if self._json is None:
            t = self._table

            def plain(obj: Any) -> Any:
                if hasattr(obj, "__dataclass_fields__"):
                    return {f.name: plain(getattr(obj, f.name)) for f in fields(obj)}
                if isinstance(obj, dict):
                    return {str(k): plain(v) for k, v in obj.items()}
                if isinstance(obj, list | tuple):
                    return [plain(v) for v in obj]
                return obj

            self._json = {
                "version": t.version,
                "clock": t.clock,
                "clock_type": t.clock_type,
                "errors": {str(k): v for k, v in t.errors.items()},
                "codes": plain(t.codes),
                "types": {name: plain(spec) for name, spec in t.types.items()},
                "elements": [plain(e) for e in t.elements],
                "arrays": [plain(a) for a in t.arrays],
                "children": dict(t.children),
                "keyword_next_record": t.keyword_next_record,
            }
        return self._json

    # -- public entry points -------------------------------------------------------------------

    def start(
        self, launch: Launch, stored: Mapping[str, str] | Iterable[tuple[str, str]]
    ) -> Runtime:
        """A runtime for one session, holding the values the SCO wrote in earlier sessions
        ({element: value} or (element, value) pairs)."""
        runtime = Runtime(self, launch)
        runtime._load(stored)
        return runtime

    def replay(
        self,
        launch: Launch,
        stored: Mapping[str, str] | Iterable[tuple[str, str]],
        written: Sequence[tuple[str, str]],
    ) -> tuple[Runtime, list[tuple[str, str, int]]]:
        """Apply the SCO's writes in order on a fresh runtime; return it and every write refused."""
        runtime = self.start(launch, stored)
        refused = []
        for element, value in written:
            code = runtime.set(element, value)
            if code:
                refused.append((element, value, code))
        return runtime, refused

    def error_string(self, code: int | str) -> str:
        """The standard's text for an error code, '' for a code it does not define."""
        return self._errors.get(str(code) if isinstance(code, int) else code, "")

    def seconds(self, timespan: str) -> float:
        """Seconds in a session_time value (CMITimespan or ISO 8601 duration); ValueError if bad."""
        if not isinstance(timespan, str) or self._clock_check(timespan, None, ()) != _OK:  # type: ignore[arg-type]
            raise ValueError(f"not a valid {self._table.clock}: {timespan!r}")
        if timespan == "":
            return 0.0
        if self._table.clock == "timespan":
            m = _TIMESPAN.fullmatch(timespan)
            if m is None:
                raise ValueError(f"not a valid timespan: {timespan!r}")
            return int(m[1]) * 3600 + int(m[2]) * 60 + float(m[3])
        m = _DURATION.fullmatch(timespan)
        if m is None:
            raise ValueError(f"not a valid duration: {timespan!r}")
        return sum(
            float(part) * unit
            for part, unit in zip(m.groups(), _DURATION_UNITS, strict=True)
            if part
        )

    def stored_from(self, written: Mapping[str, str]) -> dict[str, str]:
        """What to keep for the next session: the SCO's values without the session-only ones."""
        return {k: v for k, v in written.items() if k not in self.session_only}

    # -- compiling types -----------------------------------------------------------------------

    def _compile(self, name: str) -> Check:
        if name not in self._checks:
            spec = self._table.types[name]
            self._checks[name] = _COMPILERS[type(spec)](spec, self._compile)
        return self._checks[name]

    # -- element names -------------------------------------------------------------------------

    def _parse(self, element: str) -> _Parsed | None:
        cache = self._parse_cache
        if element in cache:
            return cache[element]
        parsed = self._parse_uncached(element)
        if len(cache) >= 8192:
            cache.clear()
        cache[element] = parsed
        return parsed

    @staticmethod
    def _parse_uncached(element: str) -> _Parsed | None:
        brace = element.find("{")
        if brace != -1:
            # adl.nav.request_valid.choice.{target=ID}: the ID may hold dots.
            if brace == 0 or element[brace - 1] != "." or not _TARGET(element[brace:]):
                return None
            raw = element[: brace - 1].split(".") + ["{target}"]
        else:
            raw = element.split(".")
        keysegs, positions, indices = [], [], []
        canonical = True
        for p, seg in enumerate(raw):
            if seg.isascii() and seg.isdigit():
                keysegs.append("n")
                positions.append(p)
                indices.append(int(seg) if len(seg) <= _MAX_INDEX_DIGITS else 10**_MAX_INDEX_DIGITS)
                if len(seg) > 1 and seg[0] == "0":
                    canonical = False
            elif seg == "n":
                keysegs.append("\x00n")  # a literal "n" is no index: matches nothing
            else:
                keysegs.append(seg)
        return _Parsed(
            key=".".join(keysegs),
            segs=tuple(raw),
            positions=tuple(positions),
            indices=tuple(indices),
            canonical=canonical,
        )

    def _unknown(self, key: str) -> int:
        """1.2 answers 201 inside a known category and 401 outside; 2004 always 401."""
        if key in self._nodes or key.rpartition(".")[0] in self._nodes:
            return self.codes.unknown_leaf
        return self.codes.unknown


_TARGET = re.compile(r"\{target=[^{}]+\}").fullmatch


class Runtime:
    """The data model of one SCO session: GetValue/SetValue with the standard's error codes."""

    def __init__(self, model: Model, launch: Launch) -> None:
        self._model = model
        self._launch = launch
        self._values: dict[str, str] = {}  # the SCO's values, first-write order
        self._counts: dict[str, int] = {}  # records per concrete array path

    def _load(self, stored: Mapping[str, str] | Iterable[tuple[str, str]]) -> None:
        """Take values kept from earlier sessions as they are (they were validated then)."""
        model = self._model
        items = stored.items() if isinstance(stored, Mapping) else stored
        for element, value in items:
            if not isinstance(element, str):
                continue
            parsed = model._parse(element)
            if parsed is None:
                continue
            rule = model._rules.get(parsed.key)
            if (
                rule is None
                or rule.depth != len(parsed.indices)
                or rule.element.access == RO
                or rule.keyword
                or not parsed.canonical
                or not isinstance(value, str)
            ):
                continue
            for pos, i in zip(parsed.positions, parsed.indices, strict=True):
                path = ".".join(parsed.segs[:pos])
                if self._counts.get(path, 0) <= i:
                    self._counts[path] = i + 1
            self._values[element] = value

    def written(self) -> dict[str, str]:
        """The SCO's values: those kept from earlier sessions, then this session's, in first-write
        order, write-only and session-only ones included."""
        return dict(self._values)

    # -- GetValue ------------------------------------------------------------------------------

    def get(self, element: str) -> tuple[str, int]:
        """GetValue: (value, error code); the value is '' on error."""
        model, codes = self._model, self._model.codes
        if element == "":
            return "", codes.get_empty
        parsed = model._parse(element)
        if parsed is None:
            return "", codes.unknown
        last = parsed.segs[-1]
        if last in ("_children", "_count") and parsed.key.count(".") >= 1:
            return self._keyword(parsed, last)
        rule = model._rules.get(parsed.key)
        if rule is None or rule.depth != len(parsed.indices):
            return "", model._unknown(parsed.key)
        el = rule.element
        if el.access == WO:
            return "", codes.write_only
        for arr, pos, i in zip(rule.arrays, parsed.positions, parsed.indices, strict=True):
            if not parsed.canonical or i >= self._counts.get(".".join(parsed.segs[:pos]), 0):
                return "", arr.missing
        value = self._values.get(element)
        if value is None:
            value = self._supplied(el)
            if value is None:
                return "", codes.not_set
        if el.evaluate is not None:
            value = self._evaluate(el.evaluate, value)
        return value, 0

    def _supplied(self, el: Element) -> str | None:
        """The LMS's value for an element the SCO has not written: from Launch, or the default."""
        if el.launch is not None:
            v = getattr(self._launch, el.launch, None)
            if v is not None:
                if el.render == "number":
                    return render_number(v)
                if el.render == "clock":
                    return self._model._render_clock(float(v))
                return str(v)
        return el.default

    def _evaluate(self, ev: Evaluate, value: str) -> str:
        threshold = getattr(self._launch, ev.launch, None)
        measure = self._values.get(ev.measure)
        if threshold is None or measure is None or measure == "":
            return value
        return ev.met if float(measure) >= float(threshold) else ev.unmet

    def _keyword(self, parsed: _Parsed, last: str) -> tuple[str, int]:
        model, codes = self._model, self._model.codes
        base = parsed.key.rpartition(".")[0]
        arr = model._arrays.get(base)
        known = base in model._rules or base in model._nodes
        if last == "_children":
            listing = arr.children if arr is not None else model._table.children.get(base)
            if listing is None:
                return "", codes.children if known else model._unknown(base)
        elif arr is None:
            return "", codes.count if known else model._unknown(base)
        # Every index on the way must name a record (1.2: or the next one).
        nxt = model._table.keyword_next_record
        for pos, i in zip(parsed.positions, parsed.indices, strict=True):
            outer = model._arrays[".".join(parsed.key.split(".")[:pos])]
            n = self._counts.get(".".join(parsed.segs[:pos]), 0)
            if not parsed.canonical or i > n or (i == n and not nxt):
                return "", outer.missing
        if last == "_children":
            return listing, 0  # type: ignore[return-value]
        return str(self._counts.get(".".join(parsed.segs[:-1]), 0)), 0

    # -- SetValue ------------------------------------------------------------------------------

    def set(self, element: str, value: str) -> int:
        """SetValue: the error code, 0 when the value was stored."""
        model, codes = self._model, self._model.codes
        if element == "":
            return codes.set_empty
        parsed = model._parse(element)
        if parsed is None:
            return codes.unknown
        if parsed.segs[-1] in KEYWORDS:
            base = parsed.key.rpartition(".")[0]
            if parsed.key in model._rules or base in model._rules or base in model._nodes:
                return codes.keyword_set
            return model._unknown(base)
        rule = model._rules.get(parsed.key)
        if rule is None or rule.depth != len(parsed.indices):
            return model._unknown(parsed.key)
        el = rule.element
        if el.access == RO:
            return codes.read_only
        indices = parsed.indices
        new: list[str] = []
        for arr, pos, i in zip(rule.arrays, parsed.positions, indices, strict=True):
            if not parsed.canonical:
                return codes.index_gap
            path = ".".join(parsed.segs[:pos])
            n = self._counts.get(path, 0)
            if i < n:
                continue
            if i > n or arr.fixed:
                return codes.index_gap
            if n >= arr.max:
                return codes.too_many
            if arr.limit_by is not None:
                limit = arr.limits.get(self._values.get(_subst(arr.limit_by, indices), ""))
                if limit is not None and n >= limit:
                    return codes.too_many
            new.append(path)
        if rule.requires is not None and rule.requires.format(*indices) not in self._values:
            return codes.dependency
        if el.write_once:
            old = self._values.get(element)
            if old is not None and old != value:
                return codes.unique
        if el.unique:
            pos = parsed.positions[-1]
            head = ".".join(parsed.segs[:pos])
            tail = ".".join(parsed.segs[pos + 1 :])
            me = indices[-1]
            for j in range(self._counts.get(head, 0)):
                if j != me and self._values.get(f"{head}.{j}.{tail}") == value:
                    return codes.unique
        if rule.check is not None:
            result = rule.check(value, self, indices)
            if result != _OK:
                return codes.type if result == _TYPE else codes.range
        for path in new:
            self._counts[path] = self._counts.get(path, 0) + 1
        self._values[element] = value
        return 0


# ---------------------------------------------------------------------------------------------
# The API object's state machine (Initialize/Terminate/Commit), mirrored by createAPI in JS.

_NOT_INITIALIZED, _RUNNING, _TERMINATED = 0, 1, 2


class Api:
    """A SCO's API object over a Runtime, returning strings like the browser API does."""

    NAMES = {
        "1.2": {
            "LMSInitialize": "initialize",
            "LMSFinish": "terminate",
            "LMSGetValue": "get_value",
            "LMSSetValue": "set_value",
            "LMSCommit": "commit",
            "LMSGetLastError": "get_last_error",
            "LMSGetErrorString": "get_error_string",
            "LMSGetDiagnostic": "get_diagnostic",
        },
        "2004": {
            "Initialize": "initialize",
            "Terminate": "terminate",
            "GetValue": "get_value",
            "SetValue": "set_value",
            "Commit": "commit",
            "GetLastError": "get_last_error",
            "GetErrorString": "get_error_string",
            "GetDiagnostic": "get_diagnostic",
        },
    }

    def __init__(
        self,
        model: Model,
        launch: Launch,
        stored: Mapping[str, str] | None = None,
        on_commit: Callable[[dict[str, str], bool], bool] | None = None,
    ) -> None:
        self.model = model
        self.runtime = model.start(launch, stored or {})
        self.on_commit = on_commit
        self.state = _NOT_INITIALIZED
        self.last_error = 0
        self.last_element = ""

    def call(self, method: str, *args: str) -> str:
        """Call an API function by its standard name (LMSInitialize, GetValue, ...)."""
        return getattr(self, self.NAMES[self.model.version][method])(*args)

    def _fail(self, code: int, element: str = "") -> str:
        self.last_error, self.last_element = code, element
        return "false"

    def _ok(self) -> str:
        self.last_error, self.last_element = 0, ""
        return "true"

    def initialize(self, arg: str = "") -> str:
        """Initialize("") / LMSInitialize("")."""
        codes = self.model.codes
        if arg != "":
            return self._fail(codes.argument)
        if self.state == _RUNNING:
            return self._fail(codes.initialize_twice)
        if self.state == _TERMINATED:
            return self._fail(codes.initialize_after)
        self.state = _RUNNING
        return self._ok()

    def _commit(self, terminated: bool) -> bool:
        if self.on_commit is None:
            return True
        return self.on_commit(self.runtime.written(), terminated) is not False

    def terminate(self, arg: str = "") -> str:
        """Terminate("") / LMSFinish(""): a last commit, then the session is over."""
        codes = self.model.codes
        if arg != "":
            return self._fail(codes.argument)
        if self.state == _NOT_INITIALIZED:
            return self._fail(codes.terminate_before)
        if self.state == _TERMINATED:
            return self._fail(codes.terminate_after)
        self.state = _TERMINATED
        if not self._commit(True):
            return self._fail(codes.commit_failed)
        return self._ok()

    def commit(self, arg: str = "") -> str:
        """Commit("") / LMSCommit("")."""
        codes = self.model.codes
        if arg != "":
            return self._fail(codes.argument)
        if self.state == _NOT_INITIALIZED:
            return self._fail(codes.commit_before)
        if self.state == _TERMINATED:
            return self._fail(codes.commit_after)
        if not self._commit(False):
            return self._fail(codes.commit_failed)
        return self._ok()

    def get_value(self, element: str = "") -> str:
        """GetValue(element) / LMSGetValue(element)."""
        codes = self.model.codes
        if self.state == _NOT_INITIALIZED:
            self._fail(codes.get_before, element)
            return ""
        if self.state == _TERMINATED:
            self._fail(codes.get_after, element)
            return ""
        value, code = self.runtime.get(element)
        self.last_error, self.last_element = code, element if code else ""
        return value

    def set_value(self, element: str = "", value: str = "") -> str:
        """SetValue(element, value) / LMSSetValue(element, value)."""
        codes = self.model.codes
        if self.state == _NOT_INITIALIZED:
            return self._fail(codes.set_before, element)
        if self.state == _TERMINATED:
            return self._fail(codes.set_after, element)
        code = self.runtime.set(element, value)
        if code:
            return self._fail(code, element)
        return self._ok()

    def get_last_error(self) -> str:
        """GetLastError(): the last error code as a string."""
        return str(self.last_error)

    def get_error_string(self, code: str = "") -> str:
        """GetErrorString(code): the standard's text, '' for an unknown code."""
        return self.model.error_string(code)

    def get_diagnostic(self, code: str = "") -> str:
        """GetDiagnostic(code): the text of `code` ('' = the last error), with the element."""
        if code == "":
            text = self.model.error_string(self.last_error)
            if self.last_error and self.last_element:
                text = f"{text}: {self.last_element}"
            return text[:255]
        return self.model.error_string(code)


# ---------------------------------------------------------------------------------------------
# Rollup: the LMS-facing status of a SCO.


def _float(value: str | None) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _scaled(raw: float | None, lo: float | None, hi: float | None) -> float | None:
    """(raw - min) / (max - min) with SCORM 1.2's implied 0..100, clamped to 0..1."""
    if raw is None:
        return None
    lo = 0.0 if lo is None else lo
    hi = 100.0 if hi is None else hi
    if hi <= lo:
        return None
    return min(1.0, max(0.0, (raw - lo) / (hi - lo)))


_COMPLETION_12 = {
    "passed": "completed",
    "failed": "completed",
    "completed": "completed",
    "incomplete": "incomplete",
    "browsed": "incomplete",
    "not attempted": "not attempted",
}


def outcome(
    model: Model, launch: Launch, written: Mapping[str, str], *, terminated: bool = False
) -> Outcome:
    """Completion, success and a 0..1 score from the SCO's values, as the LMS rolls them up.

    SCORM 1.2 (Moodle's LMSFinish rules): a status left at 'not attempted' counts as completed
    once the SCO terminated; in normal mode with credit, a mastery score and a raw score decide
    passed/failed (and, once terminated, completion). 'failed' implies completed; 'browsed'
    counts as incomplete. SCORM 2004 (4th ed. RTE 4.2.4.1): progress_measure against
    completion_threshold, and score.scaled against scaled_passing_score, override the SCO's
    statuses when both values exist.
    """
    seconds = 0.0
    if model.version == "1.2":
        status = written.get("cmi.core.lesson_status", "not attempted")
        completion = _COMPLETION_12.get(status, "unknown")
        if completion == "not attempted" and terminated:
            completion = "completed"
        success = status if status in ("passed", "failed") else "unknown"
        raw = _float(written.get("cmi.core.score.raw"))
        if (
            launch.mode == "normal"
            and launch.credit == "credit"
            and launch.mastery_score is not None
            and raw is not None
        ):
            success = "passed" if raw >= launch.mastery_score else "failed"
            if terminated:
                completion = "completed"
        scaled = _scaled(
            raw,
            _float(written.get("cmi.core.score.min")),
            _float(written.get("cmi.core.score.max")),
        )
        try:
            seconds = model.seconds(written.get("cmi.core.session_time", ""))
        except ValueError:
            seconds = 0.0
        return Outcome(
            completion=completion,
            success=success,
            score_scaled=scaled,
            score_raw=raw,
            session_seconds=seconds,
            exit=written.get("cmi.core.exit", ""),
            location=written.get("cmi.core.lesson_location", ""),
            suspend_data=written.get("cmi.suspend_data", ""),
        )
    completion = written.get("cmi.completion_status", "unknown")
    progress = _float(written.get("cmi.progress_measure"))
    if launch.completion_threshold is not None and progress is not None:
        completion = "completed" if progress >= launch.completion_threshold else "incomplete"
    success = written.get("cmi.success_status", "unknown")
    scaled = _float(written.get("cmi.score.scaled"))
    if launch.scaled_passing_score is not None and scaled is not None:
        success = "passed" if scaled >= launch.scaled_passing_score else "failed"
    raw = _float(written.get("cmi.score.raw"))
    if scaled is not None:
        normal: float | None = min(1.0, max(0.0, scaled))
    elif raw is not None and "cmi.score.max" in written:
        normal = _scaled(
            raw, _float(written.get("cmi.score.min")), _float(written.get("cmi.score.max"))
        )
    else:
        normal = None
    try:
        seconds = model.seconds(written.get("cmi.session_time", ""))
    except ValueError:
        seconds = 0.0
    return Outcome(
        completion=completion,
        success=success,
        score_scaled=normal,
        score_raw=raw,
        session_seconds=seconds,
        exit=written.get("cmi.exit", ""),
        location=written.get("cmi.location", ""),
        suspend_data=written.get("cmi.suspend_data", ""),
    )
