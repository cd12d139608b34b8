"""The engine: the checks compiled from a table's value types, a `Model` built from a
standard's table (and exported as JSON for the browser), and the `Runtime` of one SCO session
with GetValue/SetValue and the standard's error codes."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from scorm.datamodel.tables import (
    Array,
    Element,
    Evaluate,
    Launch,
    Table,
)
from scorm.datamodel.values import (
    CHECK_OK,
    CHECK_RANGE,
    CHECK_TYPE,
    DURATION,
    DURATION_UNITS,
    KEYWORDS,
    MAX_INDEX_DIGITS,
    RO,
    TIMESPAN,
    WO,
    Flags,
    Language,
    ListOf,
    Localized,
    Number,
    OneOf,
    Pair,
    Pattern,
    Range,
    Response,
    Text,
    Timestamp,
    Vocab,
    days_in_month,
    render_duration,
    render_number,
    render_timespan,
)

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
    return lambda v, rt, idx: CHECK_OK if v in values else CHECK_TYPE


def _text(spec: Text, sub: Compile) -> Check:
    return lambda v, rt, idx: CHECK_OK if len(v) <= spec.max else CHECK_TYPE


def _pattern(spec: Pattern, sub: Compile) -> Check:
    rx = re.compile(spec.pattern).fullmatch
    return lambda v, rt, idx: CHECK_OK if len(v) <= spec.max and rx(v) else CHECK_TYPE


def _number(spec: Number, sub: Compile) -> Check:
    rx, lo, hi = re.compile(spec.pattern).fullmatch, spec.min, spec.max

    def check(v: str, rt: Runtime, idx: tuple[int, ...]) -> int:
        if v == "":
            return CHECK_OK if spec.blank else CHECK_TYPE
        if len(v) > 40 or not rx(v):
            return CHECK_TYPE
        if lo is not None or hi is not None:
            x = float(v)
            if (lo is not None and x < lo) or (hi is not None and x > hi):
                return CHECK_RANGE
        return CHECK_OK

    return check


def _timestamp(spec: Timestamp, sub: Compile) -> Check:
    rx = re.compile(spec.pattern).fullmatch

    def check(v: str, rt: Runtime, idx: tuple[int, ...]) -> int:
        m = rx(v) if len(v) <= 40 else None
        if m is None:
            return CHECK_TYPE
        if m[3] and int(m[3]) > days_in_month(int(m[1]), int(m[2])):
            return CHECK_TYPE
        return CHECK_OK

    return check


_SUBTAG = re.compile(r"[A-Za-z0-9]{1,8}").fullmatch


def _language(spec: Language, sub: Compile) -> Check:
    codes = frozenset(c.lower() for c in spec.codes)
    regions = frozenset(r.upper() for r in spec.regions)

    def check(v: str, rt: Runtime, idx: tuple[int, ...]) -> int:
        if v == "":
            return CHECK_OK if spec.blank else CHECK_TYPE
        parts = v.split("-")
        if len(v) > spec.max or not all(_SUBTAG(p) for p in parts):
            return CHECK_TYPE
        primary = parts[0].lower()
        if primary in ("i", "x"):
            return CHECK_OK if len(parts) > 1 else CHECK_TYPE
        if primary not in codes:
            return CHECK_TYPE
        if len(parts) > 1 and len(parts[1]) == 2 and parts[1].isalpha():
            return CHECK_OK if parts[1].upper() in regions else CHECK_TYPE
        return CHECK_OK

    return check


def _localized(spec: Localized, sub: Compile) -> Check:
    lang = sub(spec.lang)

    def check(v: str, rt: Runtime, idx: tuple[int, ...]) -> int:
        text = v
        if v.startswith("{lang="):
            end = v.find("}")
            if end != -1:
                if lang(v[6:end], rt, idx) != CHECK_OK:
                    return CHECK_TYPE
                text = v[end + 1 :]
        return CHECK_OK if len(text) <= spec.max else CHECK_TYPE

    return check


def _list(spec: ListOf, sub: Compile) -> Check:
    item = sub(spec.item)

    def check(v: str, rt: Runtime, idx: tuple[int, ...]) -> int:
        if v == "":
            return CHECK_OK if spec.empty else CHECK_TYPE
        if len(v) > spec.max:
            return CHECK_TYPE
        parts = v.split(spec.sep)
        if any(item(part, rt, idx) != CHECK_OK for part in parts):
            return CHECK_TYPE
        if spec.unique and len(set(parts)) != len(parts):
            return CHECK_TYPE
        return CHECK_OK

    return check


def _pair(spec: Pair, sub: Compile) -> Check:
    left, right, sep = sub(spec.left), sub(spec.right), spec.sep

    def check(v: str, rt: Runtime, idx: tuple[int, ...]) -> int:
        i = v.find(sep)
        if i == -1:
            return CHECK_TYPE
        a, b = v[:i], v[i + len(sep) :]
        if sep in b or (a == "" and b == ""):
            return CHECK_TYPE
        if (not spec.left_empty) if a == "" else left(a, rt, idx) != CHECK_OK:
            return CHECK_TYPE
        if (not spec.right_empty) if b == "" else right(b, rt, idx) != CHECK_OK:
            return CHECK_TYPE
        return CHECK_OK

    return check


def _range(spec: Range, sub: Compile) -> Check:
    item, sep = sub(spec.item), spec.sep
    fallback = sub(spec.fallback) if spec.fallback else None

    def check(v: str, rt: Runtime, idx: tuple[int, ...]) -> int:
        i = v.find(sep)
        if i == -1:
            return CHECK_OK if fallback and fallback(v, rt, idx) == CHECK_OK else CHECK_TYPE
        lo, hi = v[:i], v[i + len(sep) :]
        if sep in hi:
            return CHECK_TYPE
        if (lo and item(lo, rt, idx) != CHECK_OK) or (hi and item(hi, rt, idx) != CHECK_OK):
            return CHECK_TYPE
        if lo and hi and float(lo) > float(hi):
            return CHECK_TYPE
        return CHECK_OK

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
                return CHECK_TYPE
            seen.add(name)
            rest = rest[end + 1 :]
        return CHECK_OK if then(rest, rt, idx) == CHECK_OK else CHECK_TYPE

    return check


def _oneof(spec: OneOf, sub: Compile) -> Check:
    options = tuple(sub(o) for o in spec.options)

    def check(v: str, rt: Runtime, idx: tuple[int, ...]) -> int:
        return CHECK_OK if any(o(v, rt, idx) == CHECK_OK for o in options) else CHECK_TYPE

    return check


def _response(spec: Response, sub: Compile) -> Check:
    by = _template(spec.by)
    cases = {case: sub(name) for case, name in spec.cases.items()}

    def check(v: str, rt: Runtime, idx: tuple[int, ...]) -> int:
        inner = cases.get(rt._values.get(by.format(*idx), ""))
        return CHECK_TYPE if inner is None else inner(v, rt, idx)

    return check


_COMPILERS: dict[type, Callable[[Any, Compile], Check]] = {
    Vocab: _vocab,
    Text: _text,
    Pattern: _pattern,
    Number: _number,
    Timestamp: _timestamp,
    Language: _language,
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
        if not isinstance(timespan, str) or self._clock_check(timespan, None, ()) != CHECK_OK:  # type: ignore[arg-type]
            raise ValueError(f"not a valid {self._table.clock}: {timespan!r}")
        if timespan == "":
            return 0.0
        if self._table.clock == "timespan":
            m = TIMESPAN.fullmatch(timespan)
            if m is None:
                raise ValueError(f"not a valid timespan: {timespan!r}")
            return int(m[1]) * 3600 + int(m[2]) * 60 + float(m[3])
        m = DURATION.fullmatch(timespan)
        if m is None:
            raise ValueError(f"not a valid duration: {timespan!r}")
        return sum(
            float(part) * unit
            for part, unit in zip(m.groups(), DURATION_UNITS, strict=True)
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
                indices.append(int(seg) if len(seg) <= MAX_INDEX_DIGITS else 10**MAX_INDEX_DIGITS)
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
        for arr in model._table.arrays:
            if arr.launch is not None:
                self._counts[arr.path] = len(getattr(launch, arr.launch, None) or ())

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
                or any(arr.launch is not None for arr in rule.arrays)  # the LMS supplies them
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
        if el.readable is not None and not self._record(rule, parsed.indices).get(el.readable):
            return "", codes.write_only
        value = self._values.get(element)
        if value is None:
            value = self._supplied(el, rule, parsed.indices, element)
            if value is None:
                return "", codes.not_set
        if el.evaluate is not None:
            value = self._evaluate(el.evaluate, value)
        return value, 0

    def _record(self, rule: _Rule, indices: tuple[int, ...]) -> dict[str, Any]:
        """The launch record of an element of an array the LMS supplies ({} if none)."""
        field = rule.arrays[0].launch if rule.arrays else None
        records = getattr(self._launch, field, None) if field else None
        return records[indices[0]] if records and indices[0] < len(records) else {}

    def _supplied(
        self, el: Element, rule: _Rule, indices: tuple[int, ...], element: str = ""
    ) -> str | None:
        """The LMS's value for an element the SCO has not written: from Launch, or the default
        (render "keyed": the Launch field maps element names to values)."""
        if el.record is not None:
            value = self._record(rule, indices).get(el.record)
            return value if isinstance(value, str) else el.default
        if el.launch is not None:
            v = getattr(self._launch, el.launch, None)
            if v is not None:
                if el.render == "number":
                    return render_number(v)
                if el.render == "clock":
                    return self._model._render_clock(float(v))
                if el.render == "keyed":
                    keyed = v.get(element) if isinstance(v, Mapping) else None
                    return el.default if keyed is None else str(keyed)
                return str(v)
        return el.default

    def _evaluate(self, ev: Evaluate, value: str) -> str:
        """With the LMS's threshold known, the SCO's measure decides; without a measure the
        status is `unknown` (4th ed. RTE 4.2.4.1 and 4.2.22.1 evaluation tables)."""
        threshold = getattr(self._launch, ev.launch, None)
        if threshold is None:
            return value
        measure = self._values.get(ev.measure)
        if measure is None or measure == "":
            return ev.missing
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
        if el.writable is not None and not self._record(rule, indices).get(el.writable):
            return codes.read_only
        if rule.requires is not None and rule.requires.format(*indices) not in self._values:
            return codes.dependency
        if el.write_once:
            old = self._values.get(element)
            if old is not None and old != value:
                return codes.unique
        if el.unique and (
            el.unique_by is None
            or self._values.get(_subst(el.unique_by, indices), "") in el.unique_for
        ):
            pos = parsed.positions[-1]
            head = ".".join(parsed.segs[:pos])
            tail = ".".join(parsed.segs[pos + 1 :])
            me = indices[-1]
            for j in range(self._counts.get(head, 0)):
                if j != me and self._values.get(f"{head}.{j}.{tail}") == value:
                    return codes.unique
        if rule.check is not None:
            result = rule.check(value, self, indices)
            if result != CHECK_OK:
                return codes.type if result == CHECK_TYPE else codes.range
        for path in new:
            self._counts[path] = self._counts.get(path, 0) + 1
        self._values[element] = value
        return 0
