"""Problems found in a course bundle, all reported at once, each with its file and line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def N_(message: str) -> str:
    """Mark a message for translation; the LMS translates it when it shows the problem."""
    return message


@dataclass(frozen=True)
class Problem:
    """One problem: where (file, line, and the question's name in a question bank) and what
    (an English msgid with %(name)s params).

    A parameter named `*_bytes` is a number of bytes: the LMS shows it in the reader's
    format; `str()` shows it in MB.
    """

    path: str
    line: int | None
    message: str
    params: dict[str, Any] = field(default_factory=dict)
    question: str = ""

    @property
    def where(self) -> str:
        """`file:line`, followed by the question's name when there is one."""
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where} ({self.question})" if self.question else where

    def __str__(self) -> str:
        shown = {
            k: f"{v / 1048576:.1f}".removesuffix(".0") + " MB" if k.endswith("_bytes") else v
            for k, v in self.params.items()
        }
        text = self.message % shown if shown else self.message
        return f"{self.where}: {text}"


class BundleError(Exception):
    """A bundle could not be read; `problems` lists everything that is wrong."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
