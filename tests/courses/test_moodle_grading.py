"""Banks from Moodle are graded as Moodle grades them.

The fixtures (fixtures/banks/moodle-rules.gift and .xml) are Hocvu's own, written from the GIFT
and Moodle XML pages of the Moodle docs. Each expected score below is computed by hand from the
rule cited: Moodle's question types (question/type/<type>/question.php) and its GIFT reader
(question/format/gift/format.php).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from courses import gift, moodlexml
from courses.banktoml import dump_bank
from courses.questions import QuestionBank, read_bank
from courses.testing import Drawn, draw, grade, grade_attempt, spread

BANKS = Path(__file__).parent / "fixtures" / "banks"


# The questions of the fixtures by name, found by their line (so that an importer which
# names them differently is still graded by these tests).
GIFT_LINES = {
    "Tên miền": 5,
    "Việc nên làm": 11,
    "Mật khẩu tốt": 18,
    "Ký tự thoát": 25,
    "Ghép đôi": 27,
    "Năm": 33,
    "Khoảng": 35,
    "Số pi": 37,
    "Thăng Long": 39,
    "Định dạng": 45,
    "Markdown": 47,
    "Giới thiệu": 49,
    "Phép nhân": 55,
    "Thư mục": 57,
}
XML_LINES = {
    "Thư rác": 8,
    "Địa chỉ thư": 24,
    "Giao thức": 34,
    "Dung lượng": 41,
    "Nối thư mục": 51,
    "Giới thiệu phần thư": 59,
    "Điền vào chỗ trống": 77,
}


def _by_name(questions, lines):
    by_line = {q.line: q for q in questions}
    return {name: by_line[line] for name, line in lines.items() if line in by_line}


@pytest.fixture(scope="module")
def from_gift():
    result = gift.parse("moodle-rules.gift", (BANKS / "moodle-rules.gift").read_text("utf-8"))
    return _by_name(result.questions, GIFT_LINES)


@pytest.fixture(scope="module")
def from_xml():
    result = moodlexml.parse("moodle-rules.xml", (BANKS / "moodle-rules.xml").read_bytes())
    return _by_name(result.questions, XML_LINES)


def _grade(question, response):
    """Grade with options shown in bank order, so a position is the option's index."""
    size = max(len(question.choices), len(question.pairs))
    return grade(question, Drawn(question.id, tuple(range(size))), response)


def test_gift_short_answer_weights_are_fractions_not_text(from_gift):
    """GIFT `=%n%answer` (how Moodle exports short answers): n % of the points, and the first
    matching answer decides (question_first_matching_answer_grading_strategy); `*` matches any
    text (qtype_shortanswer compare_string_with_wildcard). Issue 21: "Moodler" scored 0 and
    typing `%0%*` scored 10/10."""
    question = from_gift["Tên miền"]
    assert question.answers == ("dichvucong.gov.vn", "dichvucong", "*")
    assert _grade(question, "dichvucong.gov.vn") == 1.0  # =%100%
    assert _grade(question, "  DichVuCong ") == 0.5  # =%50%, case ignored without usecase
    assert _grade(question, "cổng dịch vụ") == 0.0  # only `*` (=%0%) matches: 0 %
    assert _grade(question, "%0%*") == 0.0
    # The review shows what earns full marks, never a weight.
    assert question.right_answers() == ("dichvucong.gov.vn",)


def test_multiple_answers_sum_the_chosen_fractions_clamped(from_gift):
    """qtype_multichoice_multi_question::grade_response: the fractions of the chosen options
    are summed, then clamped to 0..1. Issue 21: a -100 % option chosen with both right ones
    still gave 5/10, and a 0 % option cost points (0.67 where Moodle gives 1.0)."""
    question = from_gift["Việc nên làm"]  # 50 %, 50 %, 0 %, -100 %
    assert question.type == "multiple"
    assert _grade(question, [0, 1]) == 1.0  # 0.5 + 0.5
    assert _grade(question, [0, 1, 2]) == 1.0  # 0.5 + 0.5 + 0: a 0 % option costs nothing
    assert _grade(question, [0]) == 0.5
    assert _grade(question, [0, 1, 3]) == 0.0  # 0.5 + 0.5 - 1
    assert _grade(question, [3]) == 0.0  # -1 clamped to 0
    bank = QuestionBank("x", (question,))
    result = grade_attempt(bank, [Drawn(question.id, (0, 1, 2, 3))], {question.id: [0, 1, 3]}, 5)
    assert (result.score, result.passed) == (0.0, False)


def test_a_single_answer_question_with_partial_weights_stays_single(from_gift):
    """GIFT: a question with an `=` answer is single-answer (format.php: single = 1 when the
    answers contain "="); qtype_multichoice_single_question::grade_response gives the chosen
    option's fraction, negative included (get_min_fraction). Issue 21: a 100 %/50 % question
    became multi-select."""
    question = from_gift["Mật khẩu tốt"]
    assert question.type == "single"
    assert [c.correct for c in question.choices] == [True, False, False, False]
    assert _grade(question, 0) == 1.0
    assert _grade(question, 1) == 0.5
    assert _grade(question, 2) == -0.5
    assert _grade(question, 3) == 0.0
    assert _grade(question, [0, 1]) == 0.0  # a single choice takes one option


def test_a_penalty_lowers_the_attempt_but_never_below_zero(from_gift):
    """A -50 % option takes half the question's points from the total (Moodle's negative
    marking); the attempt's score on Hocvu's 0..10 scale is never negative."""
    single, tf = from_gift["Mật khẩu tốt"], from_gift["Định dạng"]
    bank = QuestionBank("x", (single, tf))
    drawn = [Drawn(single.id, (0, 1, 2, 3)), Drawn(tf.id)]
    # (-0.5 + 1) of 2 points = 2.5/10
    assert grade_attempt(bank, drawn, {single.id: 2, tf.id: True}, 5).score == 2.5
    # (-0.5 + 0) of 2 points is below 0: 0/10
    assert grade_attempt(bank, drawn, {single.id: 2, tf.id: False}, 5).score == 0.0


def test_gift_escapes_are_unescaped_where_moodle_unescapes_them(from_gift):
    """format.php escapedchar_pre/post: \\= \\: \\# \\{ \\} \\~ are characters, not syntax, and
    \\\\ is a backslash; in a short answer `\\*` is a star, not a wildcard (qtype_shortanswer).
    Issue 21: the escapes were kept literally and the right answer was marked wrong."""
    question = from_gift["Ký tự thoát"]
    assert question.text == "Trong GIFT, viết a=b: c#d {e} f~g thế nào cho đúng?"
    assert _grade(question, "a=b: c#d {e} f~g") == 1.0
    assert _grade(question, "a\\=b\\: c\\#d \\{e\\} f\\~g") == 0.0
    star = from_gift["Phép nhân"]
    assert (_grade(star, "5*3"), _grade(star, "5x3")) == (1.0, 0.0)
    assert star.right_answers() == ("5*3",)
    assert _grade(from_gift["Thư mục"], "C:\\Tai lieu") == 1.0


def test_a_matching_distractor_is_an_extra_answer_not_a_row(from_gift, from_xml):
    """A GIFT `= -> answer` (a Moodle XML subquestion without text) is one more answer to
    choose, not a question (qtype_match: only subquestions with text are stems); the grade is
    the share of stems matched right. Issue 21: it became a graded blank row."""
    question = from_gift["Ghép đôi"]
    assert _grade(question, {"0": 0, "1": 1}) == 1.0
    assert question.rows() == ((0, "OTP"), (1, "2FA"))
    assert len(question.pairs) == 3  # three answers offered
    assert _grade(question, {"0": 0, "1": 2}) == 0.5  # the distractor is wrong
    assert _grade(question, {"0": 2, "1": 0}) == 0.0
    assert _grade(question, {"2": 2}) == 0.0  # the distractor is not a row to answer
    # Two stems may share an answer: either of its copies is right for both.
    shared = from_xml["Nối thư mục"]
    assert [left for _, left in shared.rows()] == ["Hộp thư đến", "Thư đã gửi", "Hộp thư rác"]
    assert _grade(shared, {"0": 2, "1": 1, "2": 0}) == 1.0
    assert _grade(shared, {"0": 3, "1": 1, "2": 3}) == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    ("name", "typed", "expected"),
    [
        # qtype_numerical: the first answer within value ± tolerance gives its fraction.
        ("Năm", "1945", 1.0),
        ("Năm", "1944", 0.0),
        ("Khoảng", "5", 1.0),  # {#5..7}: 6 ± 1
        ("Khoảng", "7,0", 1.0),  # a comma before the decimals
        ("Khoảng", "7.5", 0.0),
        ("Số pi", "3.15", 1.0),  # 3.14 ± 0.01
        ("Số pi", "3.16", 0.0),
        ("Thăng Long", "1010", 1.0),  # =1010:0 first
        ("Thăng Long", "1015", 0.5),  # =%50%1010:10
        ("Thăng Long", "1021", 0.0),
        ("Thăng Long", "năm 1010", 0.0),  # not a number
    ],
)
def test_gift_numerical_questions(from_gift, name, typed, expected):
    """GIFT numerical answers: {#value}, {#value:tolerance}, {#min..max} and several answers
    with %n% weights (format.php, case 'numerical'), graded by qtype_numerical."""
    assert _grade(from_gift[name], typed) == expected


def test_moodle_xml_weights_case_and_units(from_xml):
    """Moodle XML fractions are percentages (qformat_xml import_answer); usecase makes a short
    answer case-sensitive; numerical units are not graded (unitgradingtype 0)."""
    single = from_xml["Thư rác"]
    assert (single.type, single.points) == ("single", 2.0)
    assert [_grade(single, p) for p in range(4)] == [1.0, 0.5, -0.5, 0.0]
    several = from_xml["Địa chỉ thư"]
    assert _grade(several, [0, 1, 2]) == 1.0  # 3 x 33.33333 % is right (graded_state_for_fraction)
    assert _grade(several, [0, 1]) == pytest.approx(2 / 3, abs=1e-6)
    assert _grade(several, [0, 1, 2, 4]) == 0.0  # 1 - 1, clamped
    short = from_xml["Giao thức"]
    assert _grade(short, "SMTPS") == 1.0  # SMTP* with usecase: the wildcard
    assert _grade(short, "smtp") == 0.5  # not SMTP*: case counts; the 50 % answer
    assert _grade(short, "Smtp") == 0.0
    assert short.right_answers() == ("SMTP",)
    number = from_xml["Dung lượng"]
    assert _grade(number, "25 MB") == 1.0
    assert _grade(number, "24,6") == 1.0
    assert _grade(number, "17") == 0.5  # 20 ± 5
    assert _grade(number, "2") == 0.0


def test_cloze_blanks_are_graded_by_their_type_and_weight(from_xml):
    """qtype_multianswer_question::grade_response: every blank is graded by its own type and
    the question earns sum(fraction x mark) / sum(marks); the blanks' marks {2:...}, {1:...}
    make its default mark (2 + 1 + 1 + 1 = 5). SHORTANSWER ignores case, SHORTANSWER_C keeps
    it, NUMERICAL takes value:tolerance, MULTICHOICE gives the chosen option's fraction;
    `\\}` is a brace (Embedded Answers page of the Moodle docs)."""
    question = from_xml["Điền vào chỗ trống"]
    assert (question.type, question.points) == ("cloze", 5.0)
    assert question.text == (
        "<p>Giao thức {#1} gửi thư qua cổng {#2}; thư lạ nên {#3}. Tên tệp: {#4}.</p>"
    )
    right = {"1": "smtp", "2": "587", "3": 1, "4": "a}b"}
    assert _grade(question, right) == 1.0  # (2 + 1 + 1 + 1) / 5
    partly = {"1": "SMTPS", "2": "25", "3": 2, "4": "A}b"}
    assert _grade(question, partly) == pytest.approx(0.2)  # (2x.5 + .5 - .5 + 0) / 5
    assert _grade(question, {"1": "smtp"}) == pytest.approx(0.4)  # 2 / 5
    assert _grade(question, {"3": 2}) == 0.0  # -0.5 / 5, kept at 0
    assert _grade(question, "smtp") == 0.0


def test_descriptions_are_shown_never_drawn_or_graded(from_gift, from_xml):
    """A description (GIFT text without braces; Moodle XML type description) has no mark
    (format.php: defaultmark 0) and is not one of the drawn questions."""
    text = from_gift["Giới thiệu"]
    assert (text.type, text.points, text.graded) == ("description", 0.0, False)
    bank = QuestionBank("x", (text, from_gift["Năm"]))
    assert bank.modules() == {"": 1}
    import random

    drawn = draw(bank, spread(5, bank.modules()), random.Random(1))
    assert [d.question_id for d in drawn] == [from_gift["Năm"].id]
    assert from_xml["Giới thiệu phần thư"].graded is False


def test_imported_banks_round_trip_through_final_test_toml(from_gift, from_xml):
    """What an import keeps (fractions, formats, groups, numbers, distractors) survives the
    final-test.toml the LMS stores, so the grades are the same after it."""
    for questions in (from_gift, from_xml):
        assert len(questions) in (len(GIFT_LINES), len(XML_LINES))
        text = dump_bank(list(questions.values()))
        bank = read_bank("final-test.toml", text, set())
        assert [q.id for q in bank.questions] == [q.id for q in questions.values()]
        for before, after in zip(questions.values(), bank.questions, strict=True):
            assert after == type(after)(**{**before.__dict__, "line": after.line})
