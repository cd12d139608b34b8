"""A standard's data model as data: its elements, arrays, error codes and the launch values
the LMS gives a SCO."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scorm.datamodel.tables import *  # noqa: F403
from scorm.datamodel.values import (
    TypeSpec,
)

# Elements, arrays and the table.


@dataclass(frozen=True)
class Evaluate:
    """A status the LMS derives on GetValue when launch.`launch` is known: `met` if
    value(`measure`) >= it, else `unmet`; `missing` while the SCO has not set `measure`."""

    measure: str
    launch: str
    met: str
    unmet: str
    missing: str = "unknown"


@dataclass(frozen=True)
class Element:
    """One leaf of the data model; `n` in the path stands for an array index."""

    path: str
    access: str
    type: str | None = None
    default: str | None = ""
    launch: str | None = None  # a Launch field that supplies the value (when not None)
    render: str = "text"  # how the Launch value becomes a string: text|number|clock|keyed
    session: bool = False  # written by the SCO for this session only (the LMS does not carry it)
    requires: str | None = None  # an element of the same record that must be set first
    write_once: bool = False
    unique: bool = False  # no two records of the array may hold the same value
    # ... only while this element of the record's parent has one of `unique_for` as value
    unique_by: str | None = None
    unique_for: tuple[str, ...] = ()
    evaluate: Evaluate | None = None
    # In an array whose records the LMS supplies (Array.launch): the key of the launch record
    # that holds the value, and the keys of the record that allow reading (else the
    # write-only error) and writing (else the read-only error) the element.
    record: str | None = None
    readable: str | None = None
    writable: str | None = None


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
    launch: str | None = None  # a Launch field listing the records (a top-level array only)


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
    # SCORM 2004 adl.data: one record per shared data bucket of the SCO, in manifest order:
    # {"id": target ID, "store": value or None (not set), "read": bool, "write": bool}.
    shared_data: tuple[dict[str, Any], ...] = ()
    # SCORM 2004 adl.nav.request_valid.*: {element name: "true" | "false"} from the LMS's
    # sequencing (an element it does not name reads "unknown").
    nav_valid: dict[str, str] | None = None


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
