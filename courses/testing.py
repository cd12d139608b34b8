"""The final test as pure functions: drawing questions, shuffling, grading responses.

A drawn question fixes the order in which its options (or matching answers) are shown. The
browser only ever sees positions in that order, never the bank's own indexes, so nothing in a
page or a response before grading tells which option is right (authors tend to write the right
answer first).
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from courses.questions import Question, QuestionBank


@dataclass(frozen=True)
class Drawn:
    """A question as drawn for one attempt: `order[p]` is the bank index shown at position p."""

    question_id: str
    order: tuple[int, ...] = ()


def spread(total: int, available: Mapping[str, int]) -> dict[str, int]:
    """Share `total` questions across modules as evenly as their banks allow."""
    total = min(total, sum(available.values()))
    counts = dict.fromkeys(available, 0)
    while sum(counts.values()) < total:
        open_modules = [m for m in available if counts[m] < available[m]]
        for module in sorted(open_modules, key=lambda m: (counts[m], m)):
            if sum(counts.values()) >= total:
                break
            counts[module] += 1
    return {m: c for m, c in counts.items() if c}


def _option_count(question: Question) -> int:
    if question.type in ("single", "multiple"):
        return len(question.choices)
    if question.type == "matching":
        return len(question.pairs)
    return 0


def draw(
    bank: QuestionBank,
    per_module: Mapping[str, int],
    rng: random.Random,
    *,
    shuffle_questions: bool = True,
    shuffle_options: bool = True,
) -> list[Drawn]:
    """Draw `per_module[m]` questions of each module at random; shown shuffled, or, when the
    author turned shuffling off, in the order of the bank's file."""
    drawn: list[tuple[int, Drawn]] = []
    by_module: dict[str, list[tuple[int, Question]]] = {}
    for index, question in enumerate(bank.questions):
        by_module.setdefault(question.module, []).append((index, question))
    for module in sorted(per_module):
        pool = by_module.get(module, [])
        for index, question in rng.sample(pool, min(per_module[module], len(pool))):
            order = list(range(_option_count(question)))
            if shuffle_options and question.type != "truefalse":
                rng.shuffle(order)
            drawn.append((index, Drawn(question.id, tuple(order))))
    if shuffle_questions:
        rng.shuffle(drawn)
    else:
        drawn.sort(key=lambda pair: pair[0])
    return [item for _, item in drawn]


def answered(response: Any) -> bool:
    """Whether a saved response is an answer: an empty text, no option ticked or no pair
    chosen is a blank, as the learner sees it."""
    if response is None:
        return False
    if isinstance(response, str):
        return bool(response.strip())
    if isinstance(response, Mapping | list | tuple):
        return bool(response)
    return True


def normalise_answer(text: str, *, case_sensitive: bool, ignore_diacritics: bool) -> str:
    """NFC, spaces trimmed and folded, case folded unless kept, diacritics dropped if allowed."""
    text = " ".join(unicodedata.normalize("NFC", text).split())
    if not case_sensitive:
        text = text.casefold()
    if ignore_diacritics:
        decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
        text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return text


def _positions(response: Any) -> list[int]:
    if isinstance(response, bool) or response is None:
        return []
    if isinstance(response, int):
        return [response]
    if isinstance(response, str):
        return [int(response)] if response.isdigit() else []
    if isinstance(response, Sequence):
        return [int(v) for v in response if str(v).isdigit()]
    return []


def grade(question: Question, drawn: Drawn, response: Any) -> float:
    """The fraction (0 to 1) of the question's points that `response` earns.

    Choice and matching responses are positions in the drawn order, as the page sent them.
    """
    if response is None:
        return 0.0
    if question.type in ("single", "multiple"):
        chosen = {drawn.order[p] for p in _positions(response) if 0 <= p < len(drawn.order)}
        correct = {i for i, c in enumerate(question.choices) if c.correct}
        if question.type == "single":
            return 1.0 if len(chosen) == 1 and chosen <= correct else 0.0
        if not question.partial:
            return 1.0 if chosen == correct else 0.0
        wrong = len(question.choices) - len(correct)
        score = len(chosen & correct) / len(correct)
        if wrong:
            score -= len(chosen - correct) / wrong
        return max(0.0, min(1.0, score))
    if question.type == "truefalse":
        value = (
            response
            if isinstance(response, bool)
            else {"true": True, "false": False}.get(str(response).lower())
        )
        return 1.0 if value is not None and value == question.answer else 0.0
    if question.type == "short":
        if not isinstance(response, str) or not response.strip():
            return 0.0
        options = {
            "case_sensitive": question.case_sensitive,
            "ignore_diacritics": question.ignore_diacritics,
        }
        given = normalise_answer(response, **options)
        return (
            1.0 if any(normalise_answer(a, **options) == given for a in question.answers) else 0.0
        )
    if question.type == "matching":
        if not isinstance(response, Mapping):
            return 0.0
        right = 0
        for left, position in response.items():
            if not str(left).isdigit() or not str(position).isdigit():
                continue
            position = int(position)
            if 0 <= position < len(drawn.order) and drawn.order[position] == int(left):
                right += 1
        return right / len(question.pairs)
    raise ValueError(f"unknown question type {question.type!r}")


@dataclass(frozen=True)
class Result:
    """A graded attempt: the score on a 10-point scale and the breakdown per module."""

    score: float
    passed: bool
    per_question: dict[str, float]
    per_module: dict[str, tuple[float, float]]


def grade_attempt(
    bank: QuestionBank,
    drawn: Sequence[Drawn],
    responses: Mapping[str, Any],
    pass_mark: float,
) -> Result:
    """Grade every drawn question; the score is rounded to two decimals."""
    questions = {q.id: q for q in bank.questions}
    earned = possible = 0.0
    per_question: dict[str, float] = {}
    per_module: dict[str, tuple[float, float]] = {}
    for item in drawn:
        question = questions.get(item.question_id)
        if question is None:
            continue
        fraction = grade(question, item, responses.get(item.question_id))
        per_question[item.question_id] = fraction
        got = fraction * question.points
        earned += got
        possible += question.points
        old = per_module.get(question.module, (0.0, 0.0))
        per_module[question.module] = (old[0] + got, old[1] + question.points)
    score = round(10 * earned / possible, 2) if possible else 0.0
    return Result(score, score >= pass_mark, per_question, per_module)


@dataclass(frozen=True)
class ItemStats:
    """How one question performed: share answered right, and how well it separates strong
    from weak learners (upper 27 % minus lower 27 % by total score; below 0.2 is weak)."""

    question_id: str
    attempts: int
    facility: float
    discrimination: float | None


def item_statistics(
    results: Sequence[tuple[float, Mapping[str, float]]],
) -> dict[str, ItemStats]:
    """Statistics per question from (attempt score, {question id: fraction}) pairs."""
    by_question: dict[str, list[float]] = {}
    for _, fractions in results:
        for qid, fraction in fractions.items():
            by_question.setdefault(qid, []).append(fraction)
    ranked = sorted(results, key=lambda r: r[0])
    group = max(1, round(len(ranked) * 0.27))
    lower, upper = ranked[:group], ranked[-group:]
    stats = {}
    for qid, fractions in by_question.items():
        discrimination = None
        low = [r[1][qid] for r in lower if qid in r[1]]
        high = [r[1][qid] for r in upper if qid in r[1]]
        if len(results) >= 4 and low and high:
            discrimination = round(sum(high) / len(high) - sum(low) / len(low), 2)
        stats[qid] = ItemStats(
            qid, len(fractions), round(sum(fractions) / len(fractions), 2), discrimination
        )
    return stats
