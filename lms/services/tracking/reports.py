"""What a package's author sees: statuses, scores and time per SCO, and how the questions it
asks (SCORM interactions) were answered."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.models.scorm import ScormPackage, ScoState


@dataclass
class InteractionSummary:
    """How learners answered one question of a package (from cmi.interactions)."""

    identifier: str
    description: str = ""
    type: str = ""
    answers: int = 0
    correct: int = 0
    wrong: int = 0
    responses: dict[str, int] | None = None

    @property
    def correct_rate(self) -> float | None:
        judged = self.correct + self.wrong
        return self.correct / judged if judged else None

    def top_responses(self, n: int = 3) -> list[tuple[str, int]]:
        return sorted((self.responses or {}).items(), key=lambda kv: (-kv[1], kv[0]))[:n]


@dataclass
class ScoSummary:
    """The learners' figures in one SCO of a package."""

    identifier: str
    title: str
    launched: int = 0
    completed: int = 0
    passed: int = 0
    failed: int = 0
    sessions: int = 0
    scores: list[float] | None = None
    seconds: list[float] | None = None

    @property
    def average_score(self) -> float | None:
        return sum(self.scores) / len(self.scores) if self.scores else None

    @property
    def median_seconds(self) -> float | None:
        if not self.seconds:
            return None
        ordered = sorted(self.seconds)
        middle = len(ordered) // 2
        if len(ordered) % 2:
            return ordered[middle]
        return (ordered[middle - 1] + ordered[middle]) / 2


_INTERACTION = re.compile(
    r"^cmi\.interactions\.(\d+)\.(id|type|result|description|learner_response|student_response)$"
)


def interactions_of(data: Sequence[Sequence[str]]) -> list[dict[str, str]]:
    """The interactions recorded in a state's data, one dict per index."""
    found: dict[int, dict[str, str]] = {}
    for element, value in data:
        match = _INTERACTION.match(element)
        if match:
            found.setdefault(int(match.group(1)), {})[match.group(2)] = value
    return [found[i] for i in sorted(found)]


def package_report(
    session: Session, package: ScormPackage
) -> tuple[list[ScoSummary], list[InteractionSummary]]:
    """Per SCO: learners, statuses, scores, time; per question: answers and correct rate.

    A question is counted once per learner, with the last answer the SCO recorded for it.
    """
    summaries = {
        s["identifier"]: ScoSummary(s["identifier"], s["title"], scores=[], seconds=[])
        for s in package.manifest["scos"]
    }
    questions: dict[str, InteractionSummary] = {}
    rows = session.execute(
        select(
            ScoState.sco,
            ScoState.best_completion,
            ScoState.best_success,
            ScoState.override_completion,
            ScoState.override_success,
            ScoState.sessions,
            ScoState.best_score_scaled,
            ScoState.total_seconds,
            ScoState.data,
        ).where(ScoState.package_id == package.id)
    )
    for (
        sco,
        completion,
        success,
        o_completion,
        o_success,
        sessions,
        score,
        seconds,
        data,
    ) in rows:
        summary = summaries.get(sco)
        if summary is None:
            continue
        # The learner's result as ScoState.result_* gives it: the best attempt, corrected.
        completion, success = o_completion or completion, o_success or success
        summary.launched += 1
        summary.completed += completion == "completed"
        summary.passed += success == "passed"
        summary.failed += success == "failed"
        summary.sessions += sessions
        if score is not None:
            summary.scores.append(score)
        summary.seconds.append(seconds)
        last: dict[str, dict[str, str]] = {}
        for interaction in interactions_of(data or []):
            if interaction.get("id"):
                last[interaction["id"]] = interaction
        for identifier, interaction in last.items():
            q = questions.setdefault(identifier, InteractionSummary(identifier, responses={}))
            q.description = q.description or interaction.get("description", "")
            q.type = q.type or interaction.get("type", "")
            q.answers += 1
            result = interaction.get("result", "")
            q.correct += result == "correct"
            q.wrong += result in ("incorrect", "wrong")
            response = interaction.get("learner_response", interaction.get("student_response"))
            if response is not None:
                q.responses[response[:200]] = q.responses.get(response[:200], 0) + 1
    return list(summaries.values()), sorted(questions.values(), key=lambda q: q.identifier)
