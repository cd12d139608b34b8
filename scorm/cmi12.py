"""The SCORM 1.2 run-time data model (`cmi.*`) as one table, with its error codes and decisions.

The reference is docs/scorm-conformance.md (§1 for the API errors, §2 for the elements, §4 for the
choices below); `scorm.datamodel` interprets the table on the server and `scorm-api.js` in the
browser.

Decisions (conformance doc §4):
- after LMSFinish every call answers 101 (ADL SampleRTE), not Moodle's 301;
- an unknown leaf inside a known category (`cmi.core.bogus`) is 201, an unknown category
  (`cmi.bogus.x`) 401 (ADL 1.2 CTS); `_children` of a leaf 202, `_count` of a non-array 203;
- setting a keyword is 402, a read-only element 403, reading a write-only one 404; a bad format
  **or** an out-of-range number is 405 (1.2 has no 407);
- CMIIdentifier has no spaces and is not blank (ADL), but may hold non-ASCII letters;
- `cmi.suspend_data` accepts up to 64,000 characters, not the CMIString4096 of the spec: real
  packages (Articulate, iSpring) write far more than 4,096 and lose the learner's place when the
  LMS refuses it (scorm-again makes the same choice);
- CMIFeedback (`student_response`, `correct_responses.n.pattern`) is checked for length only
  (≤ 4,096, above the spec's 255 for long text answers), not per interaction type;
- `weighting` is any decimal (ADL checkDecimal), not Moodle's -100..100;
- `lesson_status` 'not attempted' is the LMS's initial value only: the SCO cannot set it (405);
- `cmi.comments` is replaced on every LMSSetValue (Moodle appends);
- `nav.event` and `cmi.evaluation.*` (Moodle extensions) are not part of SCORM 1.2: 401/201.

Our caps (the server must not store unbounded data): strings beyond the lengths below are 405,
and an array never holds more than 1,000 records (201).
"""

from __future__ import annotations

from scorm.datamodel import (
    RO,
    RW,
    WO,
    Array,
    Codes,
    Element,
    Model,
    Number,
    OneOf,
    Pattern,
    Table,
    Text,
    Vocab,
)

ERRORS = {
    0: "No error",
    101: "General exception",
    201: "Invalid argument error",
    202: "Element cannot have children",
    203: "Element not an array - cannot have count",
    301: "Not initialized",
    401: "Not implemented error",
    402: "Invalid set value, element is a keyword",
    403: "Element is read only",
    404: "Element is write only",
    405: "Incorrect data type",
}

CODES = Codes(
    initialize_twice=101,
    initialize_after=101,
    terminate_before=301,
    terminate_after=101,
    get_before=301,
    get_after=101,
    set_before=301,
    set_after=101,
    commit_before=301,
    commit_after=101,
    argument=201,
    commit_failed=101,
    get_empty=201,
    set_empty=201,
    unknown=401,
    unknown_leaf=201,
    children=202,
    count=203,
    keyword_set=402,
    read_only=403,
    write_only=404,
    type=405,
    range=405,
    dependency=101,  # 1.2 has no dependencies between elements
    not_set=101,  # every 1.2 element has a default
    index_gap=201,
    unique=101,  # 1.2 has no unique or write-once elements
    too_many=201,
)

DECIMAL = r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
SINTEGER = r"-?[0-9]{1,5}"

TYPES = {
    "CMIString255": Text(255),
    "CMIString4096": Text(4096),
    "CMIFeedback": Text(4096),
    "suspend_data": Text(64000),
    # No white space, no control characters, not blank (ADL checkIdentifier).
    "CMIIdentifier": Pattern(r"[^\u0000-\u0020\u007F-\u00A0]{1,255}", max=255),
    "CMIDecimal": Number(DECIMAL),
    "score": Number(DECIMAL, min=0, max=100, blank=True),
    "audio": Number(SINTEGER, min=-1, max=100),
    "speed": Number(SINTEGER, min=-100, max=100),
    "text": Number(SINTEGER, min=-1, max=1),
    # HHHH:MM:SS.SS; blank is accepted (ADL checkTimespan).
    "CMITimespan": Pattern(r"(?:[0-9]{2,4}:[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,2})?)?", max=16),
    "CMITime": Pattern(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,2})?", max=11),
    "status": Vocab(("passed", "completed", "failed", "incomplete", "browsed")),
    "objective_status": Vocab(
        ("passed", "completed", "failed", "incomplete", "browsed", "not attempted")
    ),
    "exit": Vocab(("time-out", "suspend", "logout", "")),
    "interaction_type": Vocab(
        (
            "true-false",
            "choice",
            "fill-in",
            "matching",
            "performance",
            "sequencing",
            "likert",
            "numeric",
        )
    ),
    "result_word": Vocab(("correct", "wrong", "unanticipated", "neutral")),
    "result": OneOf(("result_word", "CMIDecimal")),
}

ELEMENTS = (
    Element("cmi._version", RO, default="3.4"),
    Element("cmi.core.student_id", RO, launch="learner_id"),
    Element("cmi.core.student_name", RO, launch="learner_name"),
    Element("cmi.core.lesson_location", RW, "CMIString255"),
    Element("cmi.core.credit", RO, default="credit", launch="credit"),
    Element("cmi.core.lesson_status", RW, "status", default="not attempted"),
    Element("cmi.core.entry", RO, launch="entry"),
    Element("cmi.core.score.raw", RW, "score"),
    Element("cmi.core.score.min", RW, "score"),
    Element("cmi.core.score.max", RW, "score"),
    Element(
        "cmi.core.total_time", RO, default="0000:00:00.00", launch="total_seconds", render="clock"
    ),
    Element("cmi.core.lesson_mode", RO, default="normal", launch="mode"),
    Element("cmi.core.exit", WO, "exit", session=True),
    Element("cmi.core.session_time", WO, "CMITimespan", session=True),
    Element("cmi.suspend_data", RW, "suspend_data"),
    Element("cmi.launch_data", RO, launch="launch_data"),
    Element("cmi.comments", RW, "CMIString4096"),
    Element("cmi.comments_from_lms", RO),
    Element("cmi.objectives.n.id", RW, "CMIIdentifier"),
    Element("cmi.objectives.n.score.raw", RW, "score"),
    Element("cmi.objectives.n.score.min", RW, "score"),
    Element("cmi.objectives.n.score.max", RW, "score"),
    Element("cmi.objectives.n.status", RW, "objective_status"),
    Element("cmi.student_data.mastery_score", RO, launch="mastery_score", render="number"),
    Element("cmi.student_data.max_time_allowed", RO, launch="max_time_allowed"),
    Element("cmi.student_data.time_limit_action", RO, launch="time_limit_action"),
    Element("cmi.student_preference.audio", RW, "audio", default="0"),
    Element("cmi.student_preference.language", RW, "CMIString255", launch="language"),
    Element("cmi.student_preference.speed", RW, "speed", default="0"),
    Element("cmi.student_preference.text", RW, "text", default="0"),
    Element("cmi.interactions.n.id", WO, "CMIIdentifier"),
    Element("cmi.interactions.n.objectives.n.id", WO, "CMIIdentifier"),
    Element("cmi.interactions.n.time", WO, "CMITime"),
    Element("cmi.interactions.n.type", WO, "interaction_type"),
    Element("cmi.interactions.n.correct_responses.n.pattern", WO, "CMIFeedback"),
    Element("cmi.interactions.n.weighting", WO, "CMIDecimal"),
    Element("cmi.interactions.n.student_response", WO, "CMIFeedback"),
    Element("cmi.interactions.n.result", WO, "result"),
    Element("cmi.interactions.n.latency", WO, "CMITimespan"),
)

ARRAYS = (
    Array("cmi.objectives", "id,score,status", missing=201),
    # Interactions are write-only: reading into a record that does not exist is 404 too
    # (ADL LMSTestCourse01, scorm-again's scorm12-divergence-probes F3).
    Array(
        "cmi.interactions",
        "id,objectives,time,type,correct_responses,weighting,student_response,result,latency",
        missing=404,
    ),
    Array("cmi.interactions.n.objectives", None, missing=404),
    Array("cmi.interactions.n.correct_responses", None, missing=404),
)

CHILDREN = {
    "cmi": "core,suspend_data,launch_data,comments,objectives,student_data,student_preference,"
    "interactions",
    "cmi.core": "student_id,student_name,lesson_location,credit,lesson_status,entry,score,"
    "total_time,lesson_mode,exit,session_time",
    "cmi.core.score": "raw,min,max",
    "cmi.objectives.n.score": "raw,min,max",
    "cmi.student_data": "mastery_score,max_time_allowed,time_limit_action",
    "cmi.student_preference": "audio,language,speed,text",
}

TABLE = Table(
    version="1.2",
    clock="timespan",
    clock_type="CMITimespan",
    errors=ERRORS,
    codes=CODES,
    types=TYPES,
    elements=ELEMENTS,
    arrays=ARRAYS,
    children=CHILDREN,
    keyword_next_record=True,
)

MODEL = Model(TABLE)
