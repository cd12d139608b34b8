"""Drawing, shuffling and grading every question type."""

from __future__ import annotations

import random

import pytest

from courses.questions import Choice, Question, QuestionBank
from courses.testing import (
    Drawn,
    draw,
    grade,
    grade_attempt,
    normalise_answer,
    proportional,
    spread,
)


def q(kind: str, **fields) -> Question:
    return Question(
        id=fields.pop("id", "q"),
        module=fields.pop("module", "01-a"),
        type=kind,
        text="?",
        points=fields.pop("points", 1.0),
        line=1,
        **fields,
    )


SINGLE = q("single", choices=(Choice("Đúng", True), Choice("Sai 1", False), Choice("Sai 2", False)))
MULTI = q(
    "multiple",
    choices=(Choice("A", True), Choice("B", True), Choice("C", False), Choice("D", False)),
)
PARTIAL = q("multiple", partial=True, choices=MULTI.choices)


def test_single_choice_uses_shown_positions():
    drawn = Drawn("q", (2, 0, 1))  # the right answer (bank index 0) is shown second
    assert grade(SINGLE, drawn, 1) == 1.0
    assert grade(SINGLE, drawn, 0) == 0.0
    assert grade(SINGLE, drawn, "1") == 1.0
    assert grade(SINGLE, drawn, [1, 0]) == 0.0  # two answers to a single-choice question
    assert grade(SINGLE, drawn, None) == 0.0 and grade(SINGLE, drawn, 99) == 0.0


def test_multiple_choice_all_or_nothing_and_partial():
    drawn = Drawn("q", (0, 1, 2, 3))
    assert grade(MULTI, drawn, [0, 1]) == 1.0
    assert grade(MULTI, drawn, [0]) == 0.0
    assert grade(PARTIAL, drawn, [0]) == 0.5
    assert grade(PARTIAL, drawn, [0, 2]) == 0.0  # +0.5 - 0.5
    assert grade(PARTIAL, drawn, [0, 1, 2]) == 0.5
    assert grade(PARTIAL, drawn, [2, 3]) == 0.0  # never negative


def test_true_false():
    question = q("truefalse", answer=False)
    assert grade(question, Drawn("q"), False) == 1.0
    assert grade(question, Drawn("q"), "false") == 1.0
    assert grade(question, Drawn("q"), "true") == 0.0


@pytest.mark.parametrize(
    ("answers", "given", "options", "expected"),
    [
        (("Hà Nội",), "  hà   nội ", {}, 1.0),
        (("Hà Nội",), "Ha Noi", {}, 0.0),  # diacritics matter by default
        (("Hà Nội",), "ha noi", {"ignore_diacritics": True}, 1.0),
        (("Đà Nẵng",), "da nang", {"ignore_diacritics": True}, 1.0),
        (("2FA",), "2fa", {}, 1.0),
        (("2FA",), "2fa", {"case_sensitive": True}, 0.0),
        (("Hà Nội",), "Ha\u0300 Nô\u0323i", {}, 1.0),  # NFD input
        (("113",), "", {}, 0.0),
    ],
)
def test_short_answer_normalisation(answers, given, options, expected):
    question = q("short", answers=answers, **options)
    assert grade(question, Drawn("q"), given) == expected


def test_matching_counts_pairs():
    question = q(
        "matching", pairs=(("QR", "quét mã"), ("OTP", "mã một lần"), ("VNeID", "định danh"))
    )
    drawn = Drawn("q", (2, 0, 1))  # right-hand answers shown as: định danh, quét mã, mã một lần
    assert grade(question, drawn, {"0": 1, "1": 2, "2": 0}) == 1.0
    assert grade(question, drawn, {"0": 1, "1": 0, "2": 2}) == pytest.approx(1 / 3)
    assert grade(question, drawn, "not a mapping") == 0.0


def test_spread_and_draw_are_fair_and_fixed_by_the_seed():
    bank = QuestionBank(
        "b",
        tuple(
            q("single", id=f"{m}-{i}", module=m, choices=SINGLE.choices)
            for m in ("01-a", "02-b", "03-c")
            for i in range(5)
        ),
    )
    per_module = spread(7, bank.modules())
    assert sorted(per_module.values()) == [2, 2, 3] and sum(per_module.values()) == 7
    first = draw(bank, per_module, random.Random(42))
    again = draw(bank, per_module, random.Random(42))
    assert first == again and len({d.question_id for d in first}) == 7
    assert all(sorted(d.order) == [0, 1, 2] for d in first)
    assert spread(100, bank.modules()) == {"01-a": 5, "02-b": 5, "03-c": 5}


def test_without_shuffling_the_questions_keep_the_order_of_the_file():
    """course.toml `shuffle_questions = false`: the drawn questions are shown in the bank's
    file order (the author's order), whatever order the draw picked them in; with shuffling the
    order differs between attempts."""
    bank = QuestionBank(
        "b",
        tuple(
            q("single", id=f"{m}-{i}", module=m, choices=SINGLE.choices)
            for m in ("02-b", "01-a")
            for i in range(6)
        ),
    )
    file_order = [question.id for question in bank.questions]
    for seed in range(20):
        drawn = draw(bank, {"01-a": 4, "02-b": 4}, random.Random(seed), shuffle_questions=False)
        ids = [d.question_id for d in drawn]
        assert len(ids) == 8 and ids == sorted(ids, key=file_order.index)
    shuffled = {
        tuple(d.question_id for d in draw(bank, {"01-a": 6, "02-b": 6}, random.Random(seed)))
        for seed in range(5)
    }
    assert len(shuffled) > 1


def test_a_blank_response_is_not_an_answer():
    """The count of unanswered questions counts what the learner sees as blank: an empty or
    spaces-only text, no box ticked, no pair chosen."""
    from courses.testing import answered

    assert [answered(v) for v in (None, "", "   ", [], {}, ())] == [False] * 6
    assert [answered(v) for v in ("x", 0, [0], {"0": 1}, False)] == [True] * 5


def test_grade_attempt_scores_on_ten_with_breakdown():
    bank = QuestionBank(
        "b",
        (
            q("single", id="a", module="01-a", choices=SINGLE.choices),
            q("truefalse", id="b", module="02-b", answer=True, points=3.0),
        ),
    )
    drawn = [Drawn("a", (0, 1, 2)), Drawn("b")]
    result = grade_attempt(bank, drawn, {"a": 0, "b": False}, pass_mark=5.0)
    assert result.score == 2.5 and not result.passed
    assert result.per_module == {"01-a": (1.0, 1.0), "02-b": (0.0, 3.0)}
    assert grade_attempt(bank, drawn, {"a": 0, "b": True}, 5.0).passed


def test_normalise_answer_folds_spaces_and_case():
    assert normalise_answer(" Xin   Chào ", case_sensitive=False, ignore_diacritics=False) == (
        "xin chào"
    )


def test_item_statistics_find_a_question_strong_learners_miss():
    from courses.testing import item_statistics

    results = [
        (9.0, {"good": 1.0, "bad": 0.0}),
        (8.0, {"good": 1.0, "bad": 0.0}),
        (3.0, {"good": 0.0, "bad": 1.0}),
        (2.0, {"good": 0.0, "bad": 1.0}),
    ]
    stats = item_statistics(results)
    assert stats["good"].facility == 0.5 and stats["good"].discrimination == 1.0
    assert stats["bad"].discrimination == -1.0
    assert item_statistics(results[:2])["good"].discrimination is None  # too few attempts


def test_the_proposed_draw_follows_the_categories_sizes():
    """Issue 21 (draws per category): the test's question count shared in proportion to the
    categories' sizes by the largest remainders, at least one from each non-empty category
    when the count allows, never more than a category holds."""
    assert proportional(10, {"a": 6, "b": 6, "c": 8}) == {"a": 3, "b": 3, "c": 4}
    # 10 x 10/100 = 1, 1 and 8: pure proportion, the minimum of one costs nothing here.
    assert proportional(10, {"a": 10, "b": 10, "c": 80}) == {"a": 1, "b": 1, "c": 8}
    # 10 x 1/100 = 0.1: still one from each, taken back from the largest.
    assert proportional(10, {"a": 1, "b": 1, "c": 98}) == {"a": 1, "b": 1, "c": 8}
    # Fewer questions than categories: one from each of the largest.
    assert proportional(2, {"a": 2, "b": 3, "c": 5}) == {"b": 1, "c": 1}
    # More than the bank holds: all of it; empty categories give nothing.
    assert proportional(50, {"a": 2, "b": 0, "c": 5}) == {"a": 2, "c": 5}
    assert proportional(5, {}) == {}
    for total in range(1, 30):
        counts = proportional(total, {"a": 3, "b": 7, "c": 11})
        assert sum(counts.values()) == min(total, 21)
        assert counts.get("a", 0) <= 3 and counts.get("b", 0) <= 7 and counts["c"] <= 11
        assert total < 3 or set(counts) == {"a", "b", "c"}


def test_a_draw_by_category_takes_each_categorys_own_questions():
    """Issue 21: nested categories (`$course$/a/b` -> "Tin học/Thư") are drawn from as the
    author chose; a parent category gives only its own questions, not those inside it."""
    sizes = {"An toàn": 8, "Tin học": 2, "Tin học/Thư": 6}
    bank = QuestionBank(
        "b",
        tuple(
            q("single", id=f"{c}-{i}", module="", group=c, choices=SINGLE.choices)
            for c, n in sizes.items()
            for i in range(n)
        ),
    )
    assert bank.categories() == sizes
    for seed in range(10):
        drawn = draw(
            bank,
            {"An toàn": 5, "Tin học": 1, "Tin học/Thư": 2},
            random.Random(seed),
            by_category=True,
        )
        groups = [d.question_id.rsplit("-", 1)[0] for d in drawn]
        assert sorted(groups) == ["An toàn"] * 5 + ["Tin học"] + ["Tin học/Thư"] * 2
    # A lesson's questions without a group are the lesson's category.
    lesson = q("single", id="x", module="01-a", choices=SINGLE.choices)
    assert lesson.category == "01-a"
