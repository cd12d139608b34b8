"""The final test as pure functions: drawing questions, shuffling, grading responses.

A drawn question fixes the order in which its options (or matching answers) are shown. The
browser only ever sees positions in that order, never the bank's own indexes, so nothing in a
page or a response before grading tells which option is right (authors tend to write the right
answer first).

Questions with Moodle's weights are graded by Moodle's rules (question/type/*/question.php):
a single choice earns the chosen option's fraction (which may be negative), several choices the
sum of the chosen fractions clamped to 0..1, a short or numerical answer the fraction of the
first accepted answer it matches. The attempt's score never falls below 0.
"""

from __future__ import annotations

import math
import random
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from courses.questions import ClozePart, NumericAnswer, Question, QuestionBank


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


def proportional(total: int, available: Mapping[str, int]) -> dict[str, int]:
    """Share `total` questions across categories in proportion to their sizes (the largest
    remainders rounding up), at least one from each non-empty category when `total` allows,
    never more than a category holds."""
    sizes = {c: n for c, n in available.items() if n > 0}
    total = min(total, sum(sizes.values()))
    if total <= 0:
        return {}
    if total < len(sizes):
        # Fewer questions than categories: one each from the largest.
        largest = sorted(sizes, key=lambda c: (-sizes[c], c))[:total]
        return {c: 1 for c in sorted(largest)}
    size_sum = sum(sizes.values())
    quotas = {c: total * sizes[c] / size_sum for c in sizes}
    counts = {c: min(sizes[c], max(1, math.floor(quotas[c]))) for c in sizes}
    # Largest remainder: the categories furthest below their quota get the rest; when the
    # minimum of one overshot, those furthest above theirs give back.
    while sum(counts.values()) < total:
        room = [c for c in sizes if counts[c] < sizes[c]]
        counts[max(room, key=lambda c: (quotas[c] - counts[c], sizes[c], c))] += 1
    while sum(counts.values()) > total:
        spare = [c for c in sizes if counts[c] > 1]
        counts[min(spare, key=lambda c: (quotas[c] - counts[c], -sizes[c], c))] -= 1
    return dict(sorted(counts.items()))


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
    by_category: bool = False,
) -> list[Drawn]:
    """Draw `per_module[m]` questions of each module (or, `by_category`, of each category) at
    random; shown shuffled, or, when the author turned shuffling off, in the order of the
    bank's file. Ungraded items (descriptions) are never drawn."""
    drawn: list[tuple[int, Drawn]] = []
    by_module: dict[str, list[tuple[int, Question]]] = {}
    for index, question in enumerate(bank.questions):
        if question.graded:
            key = question.category if by_category else question.module
            by_module.setdefault(key, []).append((index, question))
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


def matches_short(
    response: str, answer: str, *, case_sensitive: bool, ignore_diacritics: bool
) -> bool:
    """True when `response` matches the accepted `answer`, both normalised alike; in the answer
    a run of `*` matches any text and `\\*` a star (qtype_shortanswer's wildcard rule)."""
    options = {"case_sensitive": case_sensitive, "ignore_diacritics": ignore_diacritics}
    given = normalise_answer(response, **options)
    pattern = normalise_answer(answer, **options)
    bits = re.split(r"(?<!\\)\*+", pattern)
    regex = ".*".join(re.escape(bit.replace("\\*", "*")) for bit in bits)
    return re.fullmatch(regex, given, re.S) is not None


_NUMBER = re.compile(r"([+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?)(?:\s*([^\d\s.,+-].*))?")


def parse_number(text: str) -> float | None:
    """The number a learner typed: `.` or `,` as the decimal sign, a unit after it ignored
    (Moodle's numerical question with units not graded); None when it is not a number."""
    text = " ".join(str(text).split()).replace("\u2212", "-")
    match = _NUMBER.fullmatch(text)
    if match is None:
        return None
    try:
        value = float(match.group(1).replace(",", "."))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


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


def _grade_choices(question: Question, drawn: Drawn, response: Any) -> float:
    chosen = {drawn.order[p] for p in _positions(response) if 0 <= p < len(drawn.order)}
    if question.type == "single":
        # qtype_multichoice_single_question::grade_response: the chosen option's fraction.
        return question.choices[next(iter(chosen))].weight if len(chosen) == 1 else 0.0
    if any(c.fraction is not None for c in question.choices):
        # qtype_multichoice_multi_question::grade_response: the chosen fractions summed,
        # clamped to 0..1.
        return max(0.0, min(1.0, sum(question.choices[i].weight for i in chosen)))
    correct = {i for i, c in enumerate(question.choices) if c.correct}
    if not question.partial:
        return 1.0 if chosen == correct else 0.0
    wrong = len(question.choices) - len(correct)
    score = len(chosen & correct) / len(correct)
    if wrong:
        score -= len(chosen - correct) / wrong
    return max(0.0, min(1.0, score))


def _grade_short(answers: Sequence[tuple[str, float]], response: Any, **options: bool) -> float:
    if not isinstance(response, str) or not response.strip():
        return 0.0
    # question_first_matching_answer_grading_strategy: the first answer that matches.
    for answer, fraction in answers:
        if matches_short(response, answer, **options):
            return max(0.0, fraction)
    return 0.0


def _grade_number(numbers: Sequence[NumericAnswer], response: Any) -> float:
    if isinstance(response, bool) or not isinstance(response, str | int | float):
        return 0.0
    value = parse_number(str(response))
    if value is None:
        return 0.0
    for number in numbers:
        # qtype_numerical_answer::within_tolerance, with Moodle's tiny slack for rounding.
        slack = 1e-14 * max(1.0, abs(number.value))
        if abs(value - number.value) <= number.tolerance + slack:
            return max(0.0, number.fraction)
    return 0.0


def _grade_cloze(question: Question, response: Any) -> float:
    """qtype_multianswer_question::grade_response: each blank graded by its own type, weighted
    by its mark; the sum over the marks. The question's share is kept within 0..1."""
    if not isinstance(response, Mapping):
        return 0.0
    earned = possible = 0.0
    for number, part in enumerate(question.parts, start=1):
        given = response.get(str(number))
        if part.kind == "short":
            fractions = part.fractions or (1.0,) * len(part.answers)
            fraction = _grade_short(
                tuple(zip(part.answers, fractions, strict=True)),
                given,
                case_sensitive=part.case_sensitive,
                ignore_diacritics=False,
            )
        elif part.kind == "numerical":
            fraction = _grade_number(part.numbers, given)
        else:
            chosen = _positions(given)
            valid = len(chosen) == 1 and 0 <= chosen[0] < len(part.choices)
            fraction = part.choices[chosen[0]].weight if valid else 0.0
        earned += fraction * part.weight
        possible += part.weight
    return max(0.0, min(1.0, earned / possible)) if possible else 0.0


def chosen_feedback(question: Question, drawn: Drawn, response: Any) -> tuple[str, ...]:
    """The feedback written for the answers the learner gave, as Moodle's review shows it:
    the chosen options', true's or false's, or that of the first accepted short or numerical
    answer the response matches (the one that graded it)."""
    if response is None:
        return ()
    if question.type in ("single", "multiple"):
        chosen = [drawn.order[p] for p in _positions(response) if 0 <= p < len(drawn.order)]
        return tuple(question.choices[i].feedback for i in chosen if question.choices[i].feedback)
    if question.type == "truefalse" and question.answer_feedback:
        value = {"true": 0, "false": 1}.get(str(response).lower())
        found = question.answer_feedback[value] if value is not None else ""
        return (found,) if found else ()
    if question.type == "short" and question.answer_feedback and isinstance(response, str):
        options = {
            "case_sensitive": question.case_sensitive,
            "ignore_diacritics": question.ignore_diacritics,
        }
        for answer, feedback in zip(question.answers, question.answer_feedback, strict=True):
            if response.strip() and matches_short(response, answer, **options):
                return (feedback,) if feedback else ()
    if question.type == "numerical":
        return _number_feedback(question.numbers, response)
    if question.type == "cloze" and isinstance(response, Mapping):
        # Each blank's feedback, numbered as the blanks are: "(2) Gần đúng."
        said = []
        for number, part in enumerate(question.parts, start=1):
            found = _part_feedback(part, response.get(str(number)))
            said += [f"({number}) {text}" for text in found]
        return tuple(said)
    return ()


def _number_feedback(numbers: Sequence[NumericAnswer], response: Any) -> tuple[str, ...]:
    if isinstance(response, bool) or not isinstance(response, str | int | float):
        return ()
    value = parse_number(str(response))
    for number in numbers if value is not None else ():
        if abs(value - number.value) <= number.tolerance + 1e-14 * max(1, abs(number.value)):
            return (number.feedback,) if number.feedback else ()
    return ()


def _part_feedback(part: ClozePart, given: Any) -> tuple[str, ...]:
    if part.kind == "numerical":
        return _number_feedback(part.numbers, given)
    if part.kind == "choice":
        chosen = _positions(given)
        if len(chosen) == 1 and 0 <= chosen[0] < len(part.choices):
            found = part.choices[chosen[0]].feedback
            return (found,) if found else ()
        return ()
    if part.answer_feedback and isinstance(given, str) and given.strip():
        options = {"case_sensitive": part.case_sensitive, "ignore_diacritics": False}
        for answer, said in zip(part.answers, part.answer_feedback, strict=True):
            if matches_short(given, answer, **options):
                return (said,) if said else ()
    return ()


def grade(question: Question, drawn: Drawn, response: Any) -> float:
    """The fraction of the question's points that `response` earns (1 at most; below 0 only
    for a single choice whose chosen option is a penalty, as in Moodle).

    Choice and matching responses are positions in the drawn order, as the page sent them.
    """
    fraction = _fraction(question, drawn, response)
    # question_state::graded_state_for_fraction: above 0.999999 is right (3 x 33.33333 %).
    return 1.0 if fraction > 0.999999 else fraction


def _fraction(question: Question, drawn: Drawn, response: Any) -> float:
    if response is None or not question.graded:
        return 0.0
    if question.type in ("single", "multiple"):
        return _grade_choices(question, drawn, response)
    if question.type == "truefalse":
        value = (
            response
            if isinstance(response, bool)
            else {"true": True, "false": False}.get(str(response).lower())
        )
        return 1.0 if value is not None and value == question.answer else 0.0
    if question.type == "short":
        return _grade_short(
            question.short_answers(),
            response,
            case_sensitive=question.case_sensitive,
            ignore_diacritics=question.ignore_diacritics,
        )
    if question.type == "numerical":
        return _grade_number(question.numbers, response)
    if question.type == "cloze":
        return _grade_cloze(question, response)
    if question.type == "matching":
        if not isinstance(response, Mapping):
            return 0.0
        rows = dict(question.rows())
        right = 0
        for left, position in response.items():
            if not str(left).isdigit() or not str(position).isdigit():
                continue
            left, position = int(left), int(position)
            if left not in rows or not 0 <= position < len(drawn.order):
                continue
            # Answers are compared by text: two rows may share one right-hand side.
            if question.pairs[drawn.order[position]][1] == question.pairs[left][1]:
                right += 1
        return right / len(rows) if rows else 0.0
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
        if question is None or not question.graded:
            continue
        fraction = grade(question, item, responses.get(item.question_id))
        per_question[item.question_id] = fraction
        got = fraction * question.points
        earned += got
        possible += question.points
        old = per_module.get(question.module, (0.0, 0.0))
        per_module[question.module] = (old[0] + got, old[1] + question.points)
    # Penalties of single choices lower the total, never below 0 (a Moodle quiz grade starts
    # at 0).
    score = max(0.0, round(10 * earned / possible, 2)) if possible else 0.0
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
