"""How a sequencing process stops: with a book exception code, or by ending the session."""

from __future__ import annotations

__all__ = ["EndSession", "SequencingError"]


class SequencingError(Exception):
    """A process returned an exception (SN book Appendix C codes, e.g. "SB.2.9-3")."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class EndSession(Exception):
    """A process returned "end sequencing session" (e.g. continue past the last activity,
    SB.2.1 step 3.1; exit of the root, SB.2.11)."""
