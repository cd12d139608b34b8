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

By part: `values` (value types and how LMS values are written), `tables` (a standard's table
as data), `engine` (checks, `Model`, `Runtime`), `api` (the API state machine) and `outcome`
(a SCO's LMS-facing status). Callers use the names re-exported here.
"""

from scorm.datamodel.api import Api
from scorm.datamodel.engine import Model, Runtime
from scorm.datamodel.outcome import outcome
from scorm.datamodel.tables import Array, Codes, Element, Evaluate, Launch, Outcome, Table
from scorm.datamodel.values import (
    KEYWORDS,
    RO,
    RW,
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
    render_duration,
    render_number,
    render_timespan,
)

__all__ = [
    "KEYWORDS",
    "RO",
    "RW",
    "WO",
    "Api",
    "Array",
    "Codes",
    "Element",
    "Evaluate",
    "Flags",
    "Language",
    "Launch",
    "ListOf",
    "Localized",
    "Model",
    "Number",
    "OneOf",
    "Outcome",
    "Pair",
    "Pattern",
    "Range",
    "Response",
    "Runtime",
    "Table",
    "Text",
    "Timestamp",
    "Vocab",
    "outcome",
    "render_duration",
    "render_number",
    "render_timespan",
]
