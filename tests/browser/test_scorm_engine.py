"""The browser's SCORM API (lms/static/js/scorm-api.js) against the Python engine.

The JS file is loaded into a blank page in headless Chromium (no server). The shared corpus of
tests/scorm/cases runs through `HocvuScorm.createAPI` and must give the answers it expects, which
the Python engine gives too; then many generated values go through both engines' SetValue and
must get the same error codes.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from scorm import cmi12, cmi2004
from tests.scorm import corpus

SCRIPT = Path(__file__).resolve().parents[2] / "lms" / "static" / "js" / "scorm-api.js"
MODELS = {"1.2": cmi12.MODEL, "2004": cmi2004.MODEL}

RUN_CASES = """
([table, cases]) => cases.map((c) => {
  const api = HocvuScorm.createAPI({
    table, launch: c.launch, stored: c.stored, onCommit: () => c.commit,
  });
  const lastError = api.GetLastError || api.LMSGetLastError;
  const results = c.steps.map(([call, args]) => {
    const value = api[call](...args);
    return [value, Number(lastError())];
  });
  return {results, written: api.hocvu.written(), state: api.hocvu.state()};
})
"""

SET_MANY = """
([table, trials]) => trials.map(([prelude, element, value]) => {
  const launch = {learner_id: "u", learner_name: "n", entry: ""};
  const runtime = HocvuScorm.createRuntime(table, launch, {});
  for (const [e, v] of prelude) runtime.set(e, v);
  const code = runtime.set(element, value);
  return [code, runtime.get(element)];
})
"""


@pytest.fixture(scope="module")
def engine(browser):
    """A blank page with scorm-api.js loaded, and no server behind it."""
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_content("<!doctype html><html><head></head><body></body></html>")
    page.add_script_tag(content=SCRIPT.read_text(encoding="utf-8"))
    page.console_errors = errors
    yield page
    assert errors == []
    context.close()


@pytest.mark.parametrize("version", ["1.2", "2004"])
def test_corpus_gives_the_same_answers_in_the_browser(engine, version):
    cases = corpus.cases(version)
    table = MODELS[version].table()
    outcomes = engine.evaluate(RUN_CASES, [table, [case for _, case in cases]])
    problems = []
    for (name, case), js in zip(cases, outcomes, strict=True):
        python = corpus.run(version, case)
        problems += [f"{name}: JS {p}" for p in corpus.mismatches(case, js)]
        if js["results"] != python["results"]:
            problems.append(f"{name}: JS and Python differ")
        if list(js["written"].items()) != list(python["written"].items()):
            problems.append(f"{name}: written differs: {js['written']} / {python['written']}")
    assert problems == []


def test_api_names_per_version(engine):
    names = engine.evaluate(
        """([t12, t2004]) => [t12, t2004].map((table) => Object.keys(
            HocvuScorm.createAPI({table, launch: {learner_id: "u", learner_name: "n", entry: ""}})
        ).sort())""",
        [cmi12.MODEL.table(), cmi2004.MODEL.table()],
    )
    assert names[0] == sorted(
        [
            "LMSInitialize",
            "LMSFinish",
            "LMSGetValue",
            "LMSSetValue",
            "LMSCommit",
            "LMSGetLastError",
            "LMSGetErrorString",
            "LMSGetDiagnostic",
            "hocvu",
        ]
    )
    assert names[1] == sorted(
        [
            "Initialize",
            "Terminate",
            "GetValue",
            "SetValue",
            "Commit",
            "GetLastError",
            "GetErrorString",
            "GetDiagnostic",
            "hocvu",
        ]
    )


def test_commit_and_terminate_call_back_with_the_written_values(engine):
    calls = engine.evaluate(
        """(table) => {
            const calls = [];
            const api = HocvuScorm.createAPI({
              table,
              launch: {learner_id: "u", learner_name: "n", entry: ""},
              stored: [["cmi.location", "p1"], ["cmi.bogus", "x"]],  // pairs, as the player keeps
              onCommit: (written, info) => { calls.push(["commit", written, info.terminated]); },
              onTerminate: (written, info) => { calls.push(["terminate", written, info]); },
            });
            api.Initialize();  // a missing argument counts as ""
            api.SetValue("cmi.score.raw", 85);  // numbers become strings
            api.Commit("");
            api.SetValue("cmi.exit", "suspend");
            api.Terminate("");
            const after = api.GetValue("cmi.location");
            calls.push(["state", api.hocvu.state(), after, api.GetLastError()]);
            return calls;
        }""",
        cmi2004.MODEL.table(),
    )
    assert calls == [
        ["commit", {"cmi.location": "p1", "cmi.score.raw": "85"}, False],
        ["commit", {"cmi.location": "p1", "cmi.score.raw": "85", "cmi.exit": "suspend"}, True],
        [
            "terminate",
            {"cmi.location": "p1", "cmi.score.raw": "85", "cmi.exit": "suspend"},
            {"committed": True},
        ],
        ["state", "terminated", "", "123"],
    ]


def test_a_throwing_on_commit_is_a_refused_commit(engine):
    result = engine.evaluate(
        """(table) => {
            const api = HocvuScorm.createAPI({
              table, launch: {learner_id: "u", learner_name: "n", entry: ""},
              onCommit: () => { throw new Error("offline"); },
            });
            api.LMSInitialize("");
            return [api.LMSCommit(""), api.LMSGetLastError()];
        }""",
        cmi12.MODEL.table(),
    )
    assert result == ["false", "101"]


# -- Generated values through both engines -------------------------------------------------

TOKENS = [
    "a",
    "Z9",
    "1",
    "-",
    ".",
    "0.5",
    "-3",
    "1e5",
    "[,]",
    "[.]",
    "[:]",
    "{lang=en}",
    "{lang=}",
    "{lang=vi-VN}",
    "{case_matters=true}",
    "{order_matters=false}",
    "{target=x}",
    " ",
    "urn:",
    "%20",
    "%zz",
    "P",
    "T",
    "1H",
    "2M",
    "3.5S",
    "Y",
    ":",
    "00",
    "2024",
    "-02-29",
    "T10:00:00.5Z",
    "é",
    "ệ",
    "😀",
    "{",
    "}",
    "true",
    "false",
    "choice",
    "passed",
    "\u00a0",
    "\t",
    "#",
    "/",
]
FIXED = [
    "",
    "0",
    "1",
    "-1",
    "100",
    "101",
    "0.0000001",
    ".5",
    "5.",
    "-.5",
    "1e-7",
    "1E400",
    "12:30:45",
    "0000:30:00.5",
    "PT1H2M3.45S",
    "P1Y2M3DT4H5M6.7S",
    "2024-02-29T23:59:59.99+07:00",
    "😀" * 250,
    "x" * 255,
    "x" * 256,
    "x" * 4000,
    "x" * 4001,
    "x" * 8001,
]


def generated_values(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    values = list(FIXED)
    for _ in range(count):
        values.append("".join(rng.choice(TOKENS) for _ in range(rng.randint(1, 6))))
    return values


def trials(version: str) -> list[tuple[list, str, str]]:
    """(prelude, element, value) for every writable element, with records made beforehand."""
    values = generated_values(seed=1484 if version == "2004" else 12, count=150)
    out = []
    model = MODELS[version]
    for element in model.table()["elements"]:
        path = element["path"]
        if element["access"] == "ro" or "{target}" in path:
            continue
        if path.startswith("cmi.interactions.n.") and version == "2004":
            types = ["choice", "fill-in", "performance", "numeric", "true-false", "matching"]
            if "response" not in path and "pattern" not in path:
                types = ["choice"]
            for kind in types:
                prelude = [["cmi.interactions.0.id", "q"], ["cmi.interactions.0.type", kind]]
                for value in values:
                    out.append((prelude, path.replace(".n.", ".0."), value))
            continue
        prelude = []
        if path.startswith("cmi.objectives.n.") and version == "2004":
            prelude = [["cmi.objectives.0.id", "o"]]
        for value in values:
            out.append((prelude, path.replace(".n.", ".0."), value))
    return out


@pytest.mark.parametrize("version", ["1.2", "2004"])
def test_generated_values_get_the_same_codes_from_both_engines(engine, version):
    model = MODELS[version]
    cases = trials(version)
    assert len(cases) > 3000
    python = []
    for prelude, element, value in cases:
        runtime = model.start(corpus_launch(), {})
        for e, v in prelude:
            runtime.set(e, v)
        code = runtime.set(element, value)
        python.append([code, list(runtime.get(element))])
    js = engine.evaluate(SET_MANY, [model.table(), cases])
    differences = [
        (element, value[:40], p, j)
        for (_, element, value), p, j in zip(cases, python, js, strict=True)
        if p != j
    ]
    assert differences == []
    accepted = sum(1 for code, _ in python if code == 0)
    assert 0 < accepted < len(python)  # the values exercise both sides of the rules


def corpus_launch():
    from scorm.datamodel import Launch

    return Launch(learner_id="u", learner_name="n", entry="")


NAME_TOKENS = [
    "cmi",
    "adl",
    "nav",
    "data",
    "core",
    "objectives",
    "interactions",
    "correct_responses",
    "score",
    "raw",
    "id",
    "status",
    "type",
    "request_valid",
    "choice",
    "{target=a.b}",
    "{target=}",
    "0",
    "1",
    "01",
    "7",
    "99999999999",
    "n",
    "_count",
    "_children",
    "_version",
    "bogus",
    "",
]
GET_MANY = """
([table, stored, names]) => {
  const launch = {learner_id: "u", learner_name: "n", entry: ""};
  return names.map((name) => {
    const runtime = HocvuScorm.createRuntime(table, launch, stored);
    return [runtime.get(name), runtime.set(name, "x")];
  });
}
"""


@pytest.mark.parametrize("version", ["1.2", "2004"])
def test_generated_names_get_the_same_answers_from_both_engines(engine, version):
    model = MODELS[version]
    stored = (
        {"cmi.objectives.0.id": "o", "cmi.interactions.0.id": "q", "cmi.interactions.0.type": "x"}
        if version == "1.2"
        else {"cmi.objectives.0.id": "o", "cmi.interactions.0.id": "q"}
    )
    rng = random.Random(7)
    names = []
    for element in model.table()["elements"]:
        for index in ("0", "1", "2", "01"):
            base = element["path"].replace(".n.", f".{index}.").replace("{target}", "{target=t}")
            names += [base, base + "._count", base.rsplit(".", 1)[0] + "._children"]
    for array in model.table()["arrays"]:
        names += [array["path"].replace(".n.", ".0.") + suffix for suffix in ("._count", "")]
    for _ in range(1500):
        names.append(".".join(rng.choice(NAME_TOKENS) for _ in range(rng.randint(1, 5))))
    python = []
    for name in names:
        runtime = model.start(corpus_launch(), stored)
        python.append([list(runtime.get(name)), runtime.set(name, "x")])
    js = engine.evaluate(GET_MANY, [model.table(), stored, names])
    differences = [(n, p, j) for n, p, j in zip(names, python, js, strict=True) if p != j]
    assert differences == []
    codes = {p[0][1] for p in python} | {p[1] for p in python}
    assert len(codes) >= 6  # names that succeed and fail in several ways
