"""The SCORM 2004 (2nd-4th ed.) run-time data model (`cmi.*`, `adl.nav.*`) as one table.

The reference is docs/scorm-conformance.md (§1 for the API errors, §3 for the elements and the
interaction response grammars, §4 for the choices below); element rules follow the ADL sample
RTE's SCORM_2004_DM (defaults, write-once, unique, dependencies). `scorm.datamodel` interprets the
table on the server and `scorm-api.js` in the browser.

Decisions:
- SPMs are minimums the LMS must store, not maximums (doc §4.9): a value at its SPM is always
  kept, and one over it too, up to a hard safety cap per type that keeps the server from storing
  unbounded data (406 beyond it; at most 1,000 records in an array, 351 beyond):

  - suspend_data, adl.data.n.store (SPM 64,000): 128,000 code points;
  - characterstring (location SPM 1,000; launch_data, `other` responses 4,000) and identifiers
    (long_identifier SPM 4,000, short 250): 8,000;
  - localized strings (comments SPM 4,000, descriptions 250, the strings of fill-in and
    long-fill-in responses 4,000): 8,000 after the `{lang=...}` delimiter (tag up to 250);
  - choice and sequencing lists (SPM 36 short identifiers, about 9,100), fill-in (10 localized
    strings) and matching (36 pairs, about 18,200): 40,000;
  - performance (SPM 250 steps of two 250-character parts, about 126,500): 256,000.
  A commit's body may be 2 MB (lms/web/player.py), which holds any one value at its cap.
- `cmi.exit` accepts "" (doc §4.8); identifiers follow java.net.URI like the ADL RTE (no spaces,
  `urn:` alone refused) but may hold non-ASCII letters.
- Language tags (`{lang=...}` of localized strings and responses, learner_preference.language)
  follow the RTE's language_type (4.1.1; RFC 3066): the primary code must be on the ISO 639-1
  or ISO 639-2 list (scorm/datamodel/languages.py, so `frl`, `exg`, `sp`, `ruq` are refused) or
  be `i` / `x` followed by subtags (IANA-registered and private-use tags, which RFC 3066
  allows); a first subtag of two letters must be an ISO 3166-1 country code (`en-GB`, not
  `en-XZ`); subtags of 3-8 characters (IANA-registered) are not looked up.
  Codes are matched in any case.
- real(10,7) accepts any decimal of up to 40 characters (an exponent included); time(second,10,0)
  takes years 1970-2038 and 1-2 fraction digits, per the RTE book; timeinterval accepts any
  number of fraction digits on the seconds.
- completion_status and success_status are evaluated on GetValue (4th ed. RTE 4.2.4.1) when the
  LMS supplied completion_threshold / scaled_passing_score and the SCO set progress_measure /
  score.scaled.
- `adl.data` holds the SCO's shared data buckets (Launch.shared_data, from the manifest's
  adlcp:data/adlcp:map; the LMS keeps their stores per learner, lms/services/tracking/
  shared_data.py). `adl.nav.request_valid.*` answer what the LMS's sequencing engine says
  (Launch.nav_valid, keyed by element name: "true"/"false"), "unknown" where it said nothing.
"""

from __future__ import annotations

from scorm.datamodel import (
    RO,
    RW,
    WO,
    Array,
    Codes,
    Element,
    Evaluate,
    Flags,
    Language,
    ListOf,
    Localized,
    Model,
    Number,
    OneOf,
    Pair,
    Pattern,
    Range,
    Response,
    Table,
    Text,
    Timestamp,
    Vocab,
)
from scorm.datamodel.languages import ISO_639_1, ISO_639_2, ISO_639_2_LOCAL, ISO_3166_1

ERRORS = {
    0: "No Error",
    101: "General Exception",
    102: "General Initialization Failure",
    103: "Already Initialized",
    104: "Content Instance Terminated",
    111: "General Termination Failure",
    112: "Termination Before Initialization",
    113: "Termination After Termination",
    122: "Retrieve Data Before Initialization",
    123: "Retrieve Data After Termination",
    132: "Store Data Before Initialization",
    133: "Store Data After Termination",
    142: "Commit Before Initialization",
    143: "Commit After Termination",
    201: "General Argument Error",
    301: "General Get Failure",
    351: "General Set Failure",
    391: "General Commit Failure",
    401: "Undefined Data Model Element",
    402: "Unimplemented Data Model Element",
    403: "Data Model Element Value Not Initialized",
    404: "Data Model Element Is Read Only",
    405: "Data Model Element Is Write Only",
    406: "Data Model Element Type Mismatch",
    407: "Data Model Element Value Out Of Range",
    408: "Data Model Dependency Not Established",
}

CODES = Codes(
    initialize_twice=103,
    initialize_after=104,
    terminate_before=112,
    terminate_after=113,
    get_before=122,
    get_after=123,
    set_before=132,
    set_after=133,
    commit_before=142,
    commit_after=143,
    argument=201,
    commit_failed=391,
    get_empty=301,
    set_empty=351,
    unknown=401,
    unknown_leaf=401,
    children=301,
    count=301,
    keyword_set=404,
    read_only=404,
    write_only=405,
    type=406,
    range=407,
    dependency=408,
    not_set=403,
    index_gap=351,
    unique=351,
    too_many=351,
)

# A character of a URI as java.net.URI takes it (ADL's URIValidator): no controls, no white
# space, none of "<>\^`{|}[] and % only as %XX; non-ASCII letters are allowed.
_NOT_URI = (
    r'\u0000-\u0020\u007F-\u00A0"<>\\^`{|}\[\]%\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000'
)
_URI_CHAR = rf"(?:[^{_NOT_URI}]|%[0-9A-Fa-f]{{2}})"
_URI_HEAD = rf"(?:[^{_NOT_URI}:/?#]|%[0-9A-Fa-f]{{2}})"  # before any scheme colon
IDENTIFIER = (
    rf"[A-Za-z][A-Za-z0-9+.\-]*:{_URI_CHAR}+"  # scheme:rest (so "urn:" alone is refused)
    rf"|{_URI_HEAD}+(?:[/?#]{_URI_CHAR}*)?"  # relative, no colon before the first / ? #
    rf"|[/?#]{_URI_CHAR}*"
)
# language_type (RTE 4.1.1): ISO 639-1 or ISO 639-2 codes, and ISO 3166-1 countries.
LANGUAGE_CODES = ISO_639_1 + ISO_639_2 + ISO_639_2_LOCAL
REAL = r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]{1,3})?"
# YYYY[-MM[-DD[Thh[:mm[:ss[.s[TZD]]]]]]], years 1970-2038; groups 1-3 are year, month, day.
TIME = (
    r"(19[7-9][0-9]|20[0-2][0-9]|203[0-8])"
    r"(?:-(0[1-9]|1[0-2])"
    r"(?:-(0[1-9]|[12][0-9]|3[01])"
    r"(?:T(?:[01][0-9]|2[0-3])"
    r"(?::[0-5][0-9]"
    r"(?::[0-5][0-9]"
    r"(?:\.[0-9]{1,2}"
    r"(?:Z|[+\-](?:[01][0-9]|2[0-3])(?::[0-5][0-9])?)?"
    r")?)?)?)?)?)?"
)
# P[nY][nM][nD][T[nH][nM][n[.n]S]]: at least one part, no lone T ("1Y6M14DT4H15M6.34S" refused).
DURATION = (
    r"P(?=[0-9T])(?:[0-9]+Y)?(?:[0-9]+M)?(?:[0-9]+D)?"
    r"(?:T(?=[0-9])(?:[0-9]+H)?(?:[0-9]+M)?(?:[0-9]+(?:\.[0-9]+)?S)?)?"
)
NAV_REQUEST = (
    r"continue|previous|exit|exitAll|abandon|abandonAll|suspendAll|_none_"
    rf"|\{{target={_URI_CHAR}+\}}(?:choice|jump)"
)

# Hard safety caps, comfortably above the SPMs (see the table in the module docstring).
CAP_STRING = 8_000
CAP_SUSPEND = 128_000
CAP_LIST = 40_000
CAP_PERFORMANCE = 256_000

TYPES = {
    "identifier": Pattern(IDENTIFIER, max=CAP_STRING),
    "characterstring": Text(CAP_STRING),
    "suspend_data": Text(CAP_SUSPEND),
    "lang": Language(LANGUAGE_CODES, ISO_3166_1),
    "language": Language(LANGUAGE_CODES, ISO_3166_1, blank=True),
    "localized": Localized("lang", CAP_STRING),
    "real": Number(REAL),
    "scaled": Number(REAL, min=-1, max=1),
    "unit": Number(REAL, min=0, max=1),
    "non_negative": Number(REAL, min=0),
    "time": Timestamp(TIME),
    "timeinterval": Pattern(DURATION, max=100),
    "completion": Vocab(("completed", "incomplete", "not attempted", "unknown")),
    "success": Vocab(("passed", "failed", "unknown")),
    "exit": Vocab(("time-out", "suspend", "logout", "normal", "")),
    "audio_captioning": Vocab(("-1", "0", "1")),
    "interaction_type": Vocab(
        (
            "true-false",
            "choice",
            "fill-in",
            "long-fill-in",
            "matching",
            "performance",
            "sequencing",
            "likert",
            "numeric",
            "other",
        )
    ),
    "result_word": Vocab(("correct", "incorrect", "unanticipated", "neutral")),
    "result": OneOf(("result_word", "real")),
    "nav_request": Pattern(NAV_REQUEST, max=4000),
    # Interaction responses (ADL InteractionValidator; conformance doc §3, last paragraph).
    "true_false": Vocab(("true", "false")),
    "choice": ListOf("identifier", unique=True, empty=True, max=CAP_LIST),
    "fill_in": ListOf("localized", empty=True, max=CAP_LIST),
    "fill_in_pattern": Flags(("case_matters", "order_matters"), "fill_in"),
    "long_fill_in_pattern": Flags(("case_matters",), "localized"),
    "match_pair": Pair("identifier", "identifier"),
    "matching": ListOf("match_pair", empty=True, max=CAP_LIST),
    "matching_pattern": ListOf("match_pair", max=CAP_LIST),
    "step_answer": Range("real", fallback="characterstring"),
    "step": Pair("identifier", "step_answer", left_empty=True, right_empty=True),
    "performance": ListOf("step", max=CAP_PERFORMANCE),
    "performance_pattern": Flags(("order_matters",), "performance"),
    "sequencing": ListOf("identifier", max=CAP_LIST),
    "numeric_pattern": Range("real"),
    "learner_response": Response(
        "cmi.interactions.n.type",
        {
            "true-false": "true_false",
            "choice": "choice",
            "fill-in": "fill_in",
            "long-fill-in": "localized",
            "matching": "matching",
            "performance": "performance",
            "sequencing": "sequencing",
            "likert": "identifier",
            "numeric": "real",
            "other": "characterstring",
        },
    ),
    "pattern": Response(
        "cmi.interactions.n.type",
        {
            "true-false": "true_false",
            "choice": "choice",
            "fill-in": "fill_in_pattern",
            "long-fill-in": "long_fill_in_pattern",
            "matching": "matching_pattern",
            "performance": "performance_pattern",
            "sequencing": "sequencing",
            "likert": "identifier",
            "numeric": "numeric_pattern",
            "other": "characterstring",
        },
    ),
}

_I = "cmi.interactions.n"
_O = "cmi.objectives.n"

ELEMENTS = (
    Element("cmi._version", RO, default="1.0"),
    Element("cmi.comments_from_learner.n.comment", RW, "localized", default=None),
    Element("cmi.comments_from_learner.n.location", RW, "characterstring", default=None),
    Element("cmi.comments_from_learner.n.timestamp", RW, "time", default=None),
    Element("cmi.comments_from_lms.n.comment", RO, default=None),
    Element("cmi.comments_from_lms.n.location", RO, default=None),
    Element("cmi.comments_from_lms.n.timestamp", RO, default=None),
    Element(
        "cmi.completion_status",
        RW,
        "completion",
        default="unknown",
        evaluate=Evaluate(
            "cmi.progress_measure", "completion_threshold", "completed", "incomplete"
        ),
    ),
    Element(
        "cmi.completion_threshold",
        RO,
        default=None,
        launch="completion_threshold",
        render="number",
    ),
    Element("cmi.credit", RO, default="credit", launch="credit"),
    Element("cmi.entry", RO, default="ab-initio", launch="entry"),
    Element("cmi.exit", WO, "exit", session=True),
    Element(f"{_I}.id", RW, "identifier", default=None),
    Element(f"{_I}.type", RW, "interaction_type", default=None, requires=f"{_I}.id"),
    Element(
        f"{_I}.objectives.n.id",
        RW,
        "identifier",
        default=None,
        requires=f"{_I}.id",
        unique=True,
    ),
    Element(f"{_I}.timestamp", RW, "time", default=None, requires=f"{_I}.id"),
    # RTE 4.2.9.1: the correct responses of a choice interaction are unique (351).
    Element(
        f"{_I}.correct_responses.n.pattern",
        RW,
        "pattern",
        default=None,
        requires=f"{_I}.type",
        unique=True,
        unique_by=f"{_I}.type",
        unique_for=("choice",),
    ),
    Element(f"{_I}.weighting", RW, "real", default=None, requires=f"{_I}.id"),
    Element(
        f"{_I}.learner_response",
        RW,
        "learner_response",
        default=None,
        requires=f"{_I}.type",
    ),
    Element(f"{_I}.result", RW, "result", default=None, requires=f"{_I}.id"),
    Element(f"{_I}.latency", RW, "timeinterval", default=None, requires=f"{_I}.id"),
    Element(f"{_I}.description", RW, "localized", default=None, requires=f"{_I}.id"),
    Element("cmi.launch_data", RO, default=None, launch="launch_data"),
    Element("cmi.learner_id", RO, launch="learner_id"),
    Element("cmi.learner_name", RO, launch="learner_name"),
    Element("cmi.learner_preference.audio_level", RW, "non_negative", default="1"),
    Element("cmi.learner_preference.language", RW, "language", launch="language"),
    Element("cmi.learner_preference.delivery_speed", RW, "non_negative", default="1"),
    Element("cmi.learner_preference.audio_captioning", RW, "audio_captioning", default="0"),
    Element("cmi.location", RW, "characterstring", default=None),
    Element("cmi.max_time_allowed", RO, default=None, launch="max_time_allowed"),
    Element("cmi.mode", RO, default="normal", launch="mode"),
    Element(f"{_O}.id", RW, "identifier", default=None, write_once=True, unique=True),
    Element(f"{_O}.score.scaled", RW, "scaled", default=None, requires=f"{_O}.id"),
    Element(f"{_O}.score.raw", RW, "real", default=None, requires=f"{_O}.id"),
    Element(f"{_O}.score.min", RW, "real", default=None, requires=f"{_O}.id"),
    Element(f"{_O}.score.max", RW, "real", default=None, requires=f"{_O}.id"),
    Element(f"{_O}.success_status", RW, "success", default="unknown", requires=f"{_O}.id"),
    Element(f"{_O}.completion_status", RW, "completion", default="unknown", requires=f"{_O}.id"),
    Element(f"{_O}.progress_measure", RW, "unit", default=None, requires=f"{_O}.id"),
    Element(f"{_O}.description", RW, "localized", default=None, requires=f"{_O}.id"),
    Element("cmi.progress_measure", RW, "unit", default=None),
    Element(
        "cmi.scaled_passing_score",
        RO,
        default=None,
        launch="scaled_passing_score",
        render="number",
    ),
    Element("cmi.score.scaled", RW, "scaled", default=None),
    Element("cmi.score.raw", RW, "real", default=None),
    Element("cmi.score.min", RW, "real", default=None),
    Element("cmi.score.max", RW, "real", default=None),
    Element("cmi.session_time", WO, "timeinterval", default=None, session=True),
    Element(
        "cmi.success_status",
        RW,
        "success",
        default="unknown",
        evaluate=Evaluate("cmi.score.scaled", "scaled_passing_score", "passed", "failed"),
    ),
    Element("cmi.suspend_data", RW, "suspend_data", default=None),
    Element("cmi.time_limit_action", RO, default="continue,no message", launch="time_limit_action"),
    Element("cmi.total_time", RO, default="PT0H0M0S", launch="total_seconds", render="clock"),
    Element("adl.nav.request", RW, "nav_request", default="_none_", session=True),
    # What the sequencing engine answers (Launch.nav_valid, by element name; refreshed by the
    # player after each commit); "unknown" for a target the LMS did not answer for.
    *(
        Element(
            f"adl.nav.request_valid.{name}",
            RO,
            default="unknown",
            launch="nav_valid",
            render="keyed",
        )
        for name in ("continue", "previous", "choice.{target}", "jump.{target}")
    ),
    # Shared data buckets (4th ed. RTE 4.3, adl.data): from the manifest's adlcp:data/adlcp:map,
    # with readSharedData / writeSharedData deciding GetValue (405) and SetValue (404).
    Element("adl.data.n.id", RO, default=None, record="id"),
    Element(
        "adl.data.n.store",
        RW,
        "suspend_data",
        default=None,
        record="store",
        readable="read",
        writable="write",
    ),
)

ARRAYS = (
    Array("cmi.comments_from_learner", "comment,timestamp,location", missing=301),
    Array("cmi.comments_from_lms", "comment,timestamp,location", missing=301, fixed=True),
    Array(
        "cmi.interactions",
        "id,type,objectives,timestamp,correct_responses,weighting,learner_response,result,"
        "latency,description",
        missing=301,
    ),
    Array(f"{_I}.objectives", None, missing=301),
    # RTE 4.2.9.1 (correct_responses per interaction type): one pattern at most for these
    # types (a 2nd true-false pattern is 351); choice, fill-in, long-fill-in, matching,
    # performance and sequencing take several (SPM 10 for choice, 5 for the others).
    Array(
        f"{_I}.correct_responses",
        None,
        missing=301,
        limit_by=f"{_I}.type",
        limits={"true-false": 1, "likert": 1, "numeric": 1, "other": 1},
    ),
    Array(
        "cmi.objectives",
        "progress_measure,completion_status,success_status,description,score,id",
        missing=301,
    ),
    Array("adl.data", "id,store", missing=301, fixed=True, launch="shared_data"),
)

CHILDREN = {
    "cmi.score": "scaled,raw,min,max",
    "cmi.objectives.n.score": "scaled,raw,min,max",
    "cmi.learner_preference": "audio_level,language,delivery_speed,audio_captioning",
}

TABLE = Table(
    version="2004",
    clock="duration",
    clock_type="timeinterval",
    errors=ERRORS,
    codes=CODES,
    types=TYPES,
    elements=ELEMENTS,
    arrays=ARRAYS,
    children=CHILDREN,
)

MODEL = Model(TABLE)
