"""Values at the smallest permitted maximums (SPM) of SCORM 2004 go through a commit, the
database and the next launch whole; the safety caps of scorm/cmi2004.py refuse beyond them."""

from __future__ import annotations

import pytest

from tests.lms.test_scorm_tracking import _state, enrolled, runtime, send
from tests.scorm.corpus import expand


@pytest.fixture
def files_dir(app):
    return app.config["HOCVU_FILES_DIR"]


@pytest.fixture
def learner(make):
    user = make.learner(make.unit(), username="hv.scorm", full_name="Nguyễn Văn Bình")
    make.commit()
    return user


def _items(count: int, item: str) -> str:
    return expand({"items": count, "item": item, "sep": "[,]"})


def test_values_at_their_spms_are_stored_and_resumed(
    client, login, make, session, files_dir, learner
):
    """RTE 4th ed. SPMs: suspend_data 64,000 (4.2.23), a comment of 4,000 and its language
    (4.2.2), a choice pattern of 36 short identifiers, matching of 36 pairs, performance of
    250 steps (4.2.9.1), a long-fill-in response of 4,000 and its delimiters (4.2.9.2)."""
    version = enrolled(make, session, files_dir, learner, "probe2004")
    login("hv.scorm")
    rt = runtime(client, version)
    big = {
        "cmi.suspend_data": "Tiếng Việt có dấu. " * 3368 + "ạ" * 8,  # 64,000, 3 bytes each mostly
        "cmi.location": "l" * 1000,
        "cmi.comments_from_learner.0.comment": "{lang=vi}" + "ý" * 4000,
        "cmi.interactions.0.id": "c",
        "cmi.interactions.0.type": "choice",
        "cmi.interactions.0.correct_responses.0.pattern": _items(36, "{i}{q*247}"),
        "cmi.interactions.0.learner_response": _items(36, "{i}{q*247}"),
        "cmi.interactions.1.id": "m",
        "cmi.interactions.1.type": "matching",
        "cmi.interactions.1.correct_responses.0.pattern": _items(36, "{i}{s*247}[.]{i}{t*247}"),
        "cmi.interactions.2.id": "p",
        "cmi.interactions.2.type": "performance",
        "cmi.interactions.2.correct_responses.0.pattern": _items(250, "{i}{s*247}[.]{i}{a*247}"),
        "cmi.interactions.3.id": "l",
        "cmi.interactions.3.type": "long-fill-in",
        "cmi.interactions.3.learner_response": "{lang=vi}" + "ư" * 4000,
        "cmi.interactions.3.correct_responses.0.pattern": "{case_matters=true}{lang=vi}"
        + "ư" * 4000,
        "cmi.exit": "suspend",
    }
    assert len(big["cmi.suspend_data"]) == 64000
    response = send(client, rt, 1, [list(pair) for pair in big.items()], terminated=True)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.get_json()["refused"] == []
    stored = dict(_state(session).data)
    del big["cmi.exit"]
    assert {k: stored[k] for k in big} == big
    resumed = runtime(client, version)
    assert resumed["launch"]["entry"] == "resume"
    assert {k: v for k, v in resumed["stored"] if k in big} == big


def test_a_value_over_its_cap_is_refused_and_the_stored_one_kept(
    client, login, make, session, files_dir, learner
):
    """Over our safety cap (scorm/cmi2004.py, 128,000 for suspend_data): refused (406), the
    value stored before kept."""
    version = enrolled(make, session, files_dir, learner, "probe2004")
    login("hv.scorm")
    rt = runtime(client, version)
    assert send(client, rt, 1, [["cmi.suspend_data", "s" * 100_000]]).status_code == 200
    response = send(client, rt, 2, [["cmi.suspend_data", "s" * 128_001]])
    assert [(r[0], r[2]) for r in response.get_json()["refused"]] == [("cmi.suspend_data", 406)]
    assert dict(_state(session).data)["cmi.suspend_data"] == "s" * 100_000
